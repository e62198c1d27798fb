/**
 * The whole pipeline in one process: every Kafka-fed function on its local event source, every EventBridge rule
 * on its queue poller, and the order API on HTTP. `npm run dev`, the end-to-end tests and the benchmark all
 * start it through `startPipeline`.
 */
import type { Server } from 'node:http';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { EventBridgeEvent } from 'aws-lambda';
import { kafkaConfig, kafkaRecordProducer } from '../../shared/kafka.js';
import { localTableName, TABLES } from '../../shared/tables.js';
import { CONSUMERS, EVENT_BUS_NAME, type FunctionName, RULES } from '../../shared/topology.js';
import { type KafkaLambdaHandler, type LocalEventSource, startLocalEventSource } from '../esm/event-source.js';
import { applyStackEnv, type StackConfig } from '../stack/config.js';
import { type EventBridgeHandler, type RuleStats, startRulePoller } from './eventbridge.js';
import { type HttpApiHandler, serveOrderApi } from './http.js';

/** Sender address of order emails locally (verified in the emulator by `stack:up`). */
export const LOCAL_SENDER = 'orders@orderflow.local';

/**
 * Sets the variables the functions read, for running them in this process against the local stack: Kafka and
 * registry addresses, emulator endpoint and credentials, table names, bus and sender. Existing values win.
 */
export function applyFunctionEnv(): StackConfig {
  const config = applyStackEnv();
  const defaults: Record<string, string> = {
    EVENT_BUS_NAME,
    SENDER_EMAIL: LOCAL_SENDER,
    POWERTOOLS_LOG_LEVEL: 'WARN',
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_DEV: 'false',
  };
  for (const table of Object.values(TABLES)) defaults[table.env] = localTableName(table);
  for (const [name, value] of Object.entries(defaults)) process.env[name] ??= value;
  return config;
}

/** Per-function invocation counters, for the status line. */
export interface FunctionStats {
  invocations: number;
  records: number;
  failedRecords: number;
}

/** A running pipeline. */
export interface Pipeline {
  readonly config: StackConfig;
  readonly functions: Readonly<Record<string, FunctionStats>>;
  readonly rules: Readonly<Record<string, RuleStats>>;
  readonly server?: Server;
  /** Stops the HTTP server, the pollers and the consumers (committing what they finished). */
  stop(): Promise<void>;
}

/** Options of `startPipeline`. */
export interface PipelineOptions {
  /** Port of the order API; `undefined` serves no HTTP. */
  readonly httpPort?: number;
  readonly log?: (message: string) => void;
  /** Called with every EventBridge event delivered to a rule target, after the target handled it. */
  readonly onBusDelivery?: (event: EventBridgeEvent<string, unknown>) => void;
}

async function importHandler<T>(fn: FunctionName): Promise<T> {
  const module = (await import(`../../functions/${fn}/handler.js`)) as { handler: T };
  return module.handler;
}

/**
 * Starts every function of the topology against the local stack.
 *
 * @example
 * const pipeline = await startPipeline({ httpPort: 3000 });
 * process.on('SIGINT', () => pipeline.stop());
 */
export async function startPipeline(options: PipelineOptions = {}): Promise<Pipeline> {
  const config = applyFunctionEnv();
  const kafka = kafkaConfig({
    brokers: config.kafkaBrokers,
    auth: 'none',
    region: config.awsRegion,
    clientId: 'orderflow-local-esm',
  });
  const producer = kafkaRecordProducer({
    brokers: config.kafkaBrokers,
    auth: 'none',
    region: config.awsRegion,
    clientId: 'orderflow-local-esm-destination',
  });
  const functions: Record<string, FunctionStats> = {};
  const rules: Record<string, RuleStats> = {};
  const sources: LocalEventSource[] = [];
  const pollers: { stop(): Promise<void> }[] = [];
  let server: Server | undefined;
  const stop = async () => {
    if (server) await new Promise((resolve) => server?.close(resolve));
    await Promise.all(pollers.map((p) => p.stop()));
    await Promise.all(sources.map((s) => s.stop()));
    await producer.disconnect();
  };
  try {
    // Handlers load one after another (jest's ESM loader fails on concurrent imports of a shared graph); the
    // consumers then join their groups in parallel, as each join takes a few seconds of group coordination.
    const handlers = new Map<string, KafkaLambdaHandler>();
    for (const spec of CONSUMERS) handlers.set(spec.function, await importHandler<KafkaLambdaHandler>(spec.function));
    const started = await Promise.allSettled(
      CONSUMERS.map(async (spec) => {
        const stats: FunctionStats = { invocations: 0, records: 0, failedRecords: 0 };
        functions[spec.function] = stats;
        const handler = handlers.get(spec.function) as KafkaLambdaHandler;
        return startLocalEventSource({
          spec,
          handler,
          kafka,
          producer,
          log: options.log,
          onInvoke: ({ records, failed }) => {
            stats.invocations += 1;
            stats.records += records;
            stats.failedRecords += failed;
          },
        });
      }),
    );
    for (const result of started) if (result.status === 'fulfilled') sources.push(result.value);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const sqs = new SQSClient({});
    for (const rule of RULES) {
      const handler = await importHandler<(e: EventBridgeEvent<string, unknown>, c: unknown) => Promise<unknown>>(
        rule.target,
      );
      const target = handler as EventBridgeHandler;
      const observed: EventBridgeHandler = async (event, context) => {
        const result = await target(event, context);
        options.onBusDelivery?.(event);
        return result;
      };
      const poller = await startRulePoller({ rule, sqs, handler: observed, log: options.log });
      rules[rule.name] = poller.stats;
      pollers.push(poller);
    }
    if (options.httpPort !== undefined) {
      server = await serveOrderApi(await importHandler<HttpApiHandler>('order-api'), { port: options.httpPort });
    }
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
  return { config, functions, rules, server, stop };
}
