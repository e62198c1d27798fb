/**
 * The whole pipeline: every Kafka-fed function on its local event source, every EventBridge rule on its queue
 * poller, and the order API on HTTP. Each function runs in sandboxes of its own (worker threads, see
 * `local/esm/sandbox.ts`), invoked by pollers in this thread, as Lambda's pollers invoke execution
 * environments. `npm run dev`, the end-to-end tests and the benchmarks all start it through `startPipeline`.
 */
import type { Server } from 'node:http';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { EventBridgeEvent } from 'aws-lambda';
import { contractOf } from '../../shared/functions.js';
import { kafkaConfig, kafkaRecordProducer } from '../../shared/kafka.js';
import type { KafkaBatchResponse, MskEvent, PollerMode } from '../../shared/msk.js';
import { CONSUMERS, FUNCTION_NAMES, type FunctionName, RULES } from '../../shared/topology.js';
import { type AwsCallCounts, addCounts, awsCallCounter } from '../esm/aws-calls.js';
import { type LocalEventSource, startLocalEventSource } from '../esm/event-source.js';
import { type SandboxPool, startSandboxPool } from '../esm/sandbox.js';
import { applyStackEnv, type StackConfig } from '../stack/config.js';
import { localFunctionEnv } from '../stack/function-env.js';
import { type Admission, admitted, finalOrderIdOf, maxBacklogFromEnv, startAdmission } from './admission.js';
import { type EventBridgeHandler, type RuleStats, startRulePoller } from './eventbridge.js';
import { type HttpApiHandler, serveOrderApi } from './http.js';
import { sandboxNiceness, stageDepths } from './priority.js';

/**
 * The poller mode the local event sources emulate and the functions see in `POLLER_MODE`:
 * `ORDERFLOW_POLLER_MODE` (as for `cdk synth`), else `POLLER_MODE`, else `provisioned`.
 */
export function localPollerMode(env: NodeJS.ProcessEnv = process.env): PollerMode {
  const raw = env.ORDERFLOW_POLLER_MODE || env.POLLER_MODE || 'provisioned';
  if (raw !== 'provisioned' && raw !== 'on-demand') {
    throw new Error(`ORDERFLOW_POLLER_MODE must be "provisioned" or "on-demand", got '${raw}'`);
  }
  return raw;
}

/**
 * The variables `fn`'s contract (`shared/functions.ts`) gives it against the local stack of `config`; values set in
 * `env` win (see `localResourceValues`).
 */
export function functionEnv(
  fn: FunctionName,
  config: StackConfig,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  return localFunctionEnv(fn, {
    kafkaBrokers: config.kafkaBrokers.join(','),
    schemaRegistryUrl: config.schemaRegistryUrl,
    // ORDERFLOW_SCHEMA_REGISTRY: the registry new records are written with (both stay readable).
    schemaRegistry: config.schemaRegistryMode,
    // The mode the functions see in POLLER_MODE, as the event sources emulate (see `startPipeline`).
    pollerMode: localPollerMode({ POLLER_MODE: env.POLLER_MODE }),
    env,
  });
}

/**
 * Sets the variables the functions read, for running them in this process against the local stack: Kafka and
 * registry addresses, emulator endpoint and credentials, and every function's contract variables (table names,
 * bus, sender, templates, poller mode). Existing values win, but for `POLLER_MODE`, which follows
 * `ORDERFLOW_POLLER_MODE` so functions and event sources agree.
 */
export function applyFunctionEnv(): StackConfig {
  const config = applyStackEnv();
  process.env.POLLER_MODE = localPollerMode();
  const defaults: Record<string, string> = {
    POWERTOOLS_LOG_LEVEL: 'WARN',
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_DEV: 'false',
  };
  for (const fn of FUNCTION_NAMES) Object.assign(defaults, functionEnv(fn, config));
  for (const [name, value] of Object.entries(defaults)) process.env[name] ??= value;
  return config;
}

/**
 * Most sandboxes (concurrent invocations) per function: `ORDERFLOW_LOCAL_CONCURRENCY`, default 2. Lambda would
 * run one per partition in flight; on a laptop, two per function already keep every core busy.
 */
export function localConcurrency(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.ORDERFLOW_LOCAL_CONCURRENCY;
  if (raw === undefined || raw === '') return 2;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 64) {
    throw new Error(`ORDERFLOW_LOCAL_CONCURRENCY must be an integer from 1 to 64, got '${raw}'`);
  }
  return value;
}

/** Function timeouts as the CDK stack sets them: each contract's `timeoutSeconds`. */
export function functionTimeoutMs(fn: FunctionName): number {
  return contractOf(fn).timeoutSeconds * 1000;
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
  /** The order API's admission gate: orders in flight and shed (see admission.ts). */
  readonly admission: Admission;
  /**
   * AWS SDK calls made so far by each function's sandboxes, and by the rule pollers (`rule-pollers`: the local
   * stand-in for EventBridge invoking its targets, which on AWS makes no calls of ours).
   */
  awsCalls(): Record<string, AwsCallCounts>;
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
  /**
   * Most accepted orders not final before `POST /orders` answers 503 with `Retry-After`; 0 sheds nothing.
   * @default - `ORDERFLOW_MAX_BACKLOG`, else `DEFAULT_MAX_BACKLOG` (admission.ts)
   */
  readonly maxBacklog?: number;
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
  const pools: SandboxPool[] = [];
  let server: Server | undefined;
  const stop = async () => {
    if (server) await new Promise((resolve) => server?.close(resolve));
    await Promise.all(pollers.map((p) => p.stop()));
    await Promise.all(sources.map((s) => s.stop()));
    await Promise.all(pools.map((p) => p.stop()));
    await producer.disconnect();
  };
  const concurrency = localConcurrency();
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  // The event sources emulate the mode the sandboxes' functions see in POLLER_MODE.
  const pollerMode = localPollerMode({ POLLER_MODE: env.POLLER_MODE });
  // Later stages first: each function's sandboxes at the nice value of its stage depth (priority.ts).
  const depths = stageDepths();
  const admission = startAdmission({ maxBacklog: options.maxBacklog ?? maxBacklogFromEnv() });
  const pollerCalls = awsCallCounter();
  const pollerCallTotals: AwsCallCounts = {};
  // API Gateway invokes order-api once per request, each mostly waiting on Kafka: it gets twice the sandboxes,
  // so requests do not queue behind two in-flight produces under load.
  const sandboxes = (fn: FunctionName) =>
    startSandboxPool({
      functionName: fn,
      timeoutMs: functionTimeoutMs(fn),
      concurrency: fn === 'order-api' ? concurrency * 2 : concurrency,
      niceness: sandboxNiceness(fn, depths),
      // Each function's own contract variables on top of the process's (emulator endpoints, credentials, ...).
      env: { ...env, ...functionEnv(fn, config, env) },
    });
  try {
    // Every function's first sandbox loads in parallel (each its own module graph), then the consumers join
    // their groups in parallel, as each join takes a few seconds of group coordination.
    const names = [...new Set<FunctionName>([...CONSUMERS.map((c) => c.function), ...RULES.map((r) => r.target)])];
    if (options.httpPort !== undefined) names.push('order-api');
    const started = await Promise.allSettled(names.map(sandboxes));
    for (const result of started) if (result.status === 'fulfilled') pools.push(result.value);
    const failedPool = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failedPool) throw failedPool.reason;
    const pool = (fn: FunctionName) => pools.find((p) => p.functionName === fn) as SandboxPool;
    const consumers = await Promise.allSettled(
      CONSUMERS.map(async (spec) => {
        const stats: FunctionStats = { invocations: 0, records: 0, failedRecords: 0 };
        functions[spec.function] = stats;
        const sandbox = pool(spec.function);
        return startLocalEventSource({
          spec,
          handler: (event: MskEvent) => sandbox.invoke<KafkaBatchResponse | undefined>(event),
          kafka,
          producer,
          pollerMode,
          timeoutMs: functionTimeoutMs(spec.function),
          log: options.log,
          onInvoke: ({ records, failed }) => {
            stats.invocations += 1;
            stats.records += records;
            stats.failedRecords += failed;
          },
        });
      }),
    );
    for (const result of consumers) if (result.status === 'fulfilled') sources.push(result.value);
    const failed = consumers.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const sqs = new SQSClient({});
    pollerCalls.watch(sqs);
    for (const rule of RULES) {
      const target = pool(rule.target);
      const observed: EventBridgeHandler = async (event) => {
        // Delivered means final in ORDER_STATUS: order-status puts the event on the bus after recording it.
        const orderId = finalOrderIdOf(event);
        if (orderId !== undefined) admission.finished(orderId);
        const result = await target.invoke(event);
        options.onBusDelivery?.(event);
        return result;
      };
      const poller = await startRulePoller({ rule, sqs, handler: observed, log: options.log, concurrency });
      rules[rule.name] = poller.stats;
      pollers.push(poller);
    }
    if (options.httpPort !== undefined) {
      const api = pool('order-api');
      // API Gateway stops waiting at the function timeout and answers for it; a request still queued for a
      // sandbox then must never run, or a client told "error" would have its order placed anyway.
      const invoke: HttpApiHandler = (event) =>
        api.invoke(event, { deadline: Date.now() + functionTimeoutMs('order-api') - 250 });
      server = await serveOrderApi(admitted(invoke, admission), { port: options.httpPort });
    }
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
  const awsCalls = () => {
    const calls: Record<string, AwsCallCounts> = Object.fromEntries(pools.map((p) => [p.functionName, p.calls()]));
    addCounts(pollerCallTotals, pollerCalls.take());
    calls['rule-pollers'] = { ...pollerCallTotals };
    return calls;
  };
  return { config, functions, rules, server, admission, awsCalls, stop };
}
