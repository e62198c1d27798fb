/**
 * A local stand-in for Lambda's Kafka event-source mapping: one kafkajs consumer per topology consumer, in the
 * same consumer group, building exactly the MSK event Lambda sends and invoking the function's exported handler
 * in-process. Delivery rules live in `delivery.ts`; this file only connects them to a broker.
 */
import type { Context } from 'aws-lambda';
import { type Consumer, Kafka, type KafkaConfig, type LogEntry, logLevel } from 'kafkajs';
import type { RecordProducer } from '../../shared/kafka.js';
import { deadLetterOf, type KafkaBatchResponse, type MskEvent, type RawKafkaRecord } from '../../shared/msk.js';
import { type ConsumerSpec, topicSpec } from '../../shared/topology.js';
import { lambdaContext } from './context.js';
import { DeliveryAbortedError, deliverPartition } from './delivery.js';

export { lambdaContext } from './context.js';

/** A Lambda handler for Kafka events, as exported by `functions/<name>/handler.ts`. */
export type KafkaLambdaHandler = (event: MskEvent, context: Context) => Promise<KafkaBatchResponse | undefined | null>;

/** Options of one local event source. */
export interface LocalEventSourceOptions {
  readonly spec: ConsumerSpec;
  readonly handler: KafkaLambdaHandler;
  readonly kafka: KafkaConfig;
  /** Producer for the on-failure destination. */
  readonly producer: RecordProducer;
  /** Function timeout the context reports, in ms. @default 60000 */
  readonly timeoutMs?: number;
  /** Called after every invocation, for the dev status line and tests. */
  readonly onInvoke?: (info: { records: number; failed: number; ms: number }) => void;
  readonly log?: (message: string) => void;
}

/** A running local event source. */
export interface LocalEventSource {
  readonly spec: ConsumerSpec;
  /** Stops after the batch in flight: its offsets are committed before the consumer leaves the group. */
  stop(): Promise<void>;
}

/**
 * Starts consuming for `spec` and invoking `handler`; resolves once the consumer has joined its group.
 *
 * @example
 * const source = await startLocalEventSource({ spec: consumerOf('validate-order'), handler, kafka, producer });
 */
export async function startLocalEventSource(options: LocalEventSourceOptions): Promise<LocalEventSource> {
  const { spec } = options;
  const kafka = new Kafka({ ...options.kafka, logCreator: quietStartupLogs(options.log) });
  const consumer: Consumer = kafka.consumer({
    groupId: spec.groupId,
    // Lambda waits up to the batching window for a batch to fill; the broker does the same with these two.
    maxWaitTimeInMs: Math.max(100, spec.batchingWindowSeconds * 1000),
    minBytes: 1024 * 1024,
    maxBytesPerPartition: 6 * 1024 * 1024,
  });
  await consumer.connect();
  for (const topic of spec.topics) {
    await consumer.subscribe({ topic, fromBeginning: spec.startingPosition === 'TRIM_HORIZON' });
  }
  const bootstrapServers = Array.isArray(options.kafka.brokers) ? options.kafka.brokers.join(',') : 'localhost:9092';
  const eventSourceArn = `arn:aws:kafka:us-east-1:000000000000:cluster/orderflow-local/${spec.groupId}`;
  // Lambda's provisioned pollers keep one batch in flight per partition, all partitions at once; so do we.
  const partitions = spec.topics.reduce((n, topic) => n + topicSpec(topic).partitions, 0);
  await consumer.run({
    partitionsConsumedConcurrently: partitions,
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
      const records: RawKafkaRecord[] = batch.messages.map((m) => ({
        topic: batch.topic,
        partition: batch.partition,
        offset: m.offset,
        timestamp: Number(m.timestamp),
        key: m.key,
        value: m.value,
        headers: Object.fromEntries(
          Object.entries(m.headers ?? {}).flatMap(([k, v]) =>
            v === undefined ? [] : [[k, Array.isArray(v) ? (v[0] ?? '') : v]],
          ),
        ),
      }));
      try {
        await deliverPartition(records, spec, {
          bootstrapServers,
          eventSourceArn,
          now: () => Date.now(),
          sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
          invoke: async (event) => {
            if (!isRunning() || isStale()) throw new DeliveryAbortedError('partition revoked or consumer stopping');
            const started = Date.now();
            const response = await options.handler(event, lambdaContext(spec.function, options.timeoutMs ?? 60_000));
            await heartbeat();
            options.onInvoke?.({
              records: Object.values(event.records).reduce((n, list) => n + list.length, 0),
              failed: response?.batchItemFailures?.length ?? 0,
              ms: Date.now() - started,
            });
            return response;
          },
          onFailure: async (failed, cause, error) => {
            const now = new Date();
            await options.producer.send(
              failed.map((r) => ({
                topic: spec.onFailureTopic,
                ...deadLetterOf(
                  { ...r, offset: String(r.offset), headers: toStrings(r.headers) },
                  'PROCESSING_ERROR',
                  `${cause}: ${error}`,
                  spec.function,
                  now,
                ),
              })),
            );
            options.log?.(`${spec.function}: ${failed.length} record(s) sent to ${spec.onFailureTopic} (${cause})`);
          },
          commit: async (offset) => {
            // resolveOffset moves kafkajs' fetch position; commitOffsets makes it durable for the group.
            resolveOffset(offset);
            await consumer.commitOffsets([
              { topic: batch.topic, partition: batch.partition, offset: (BigInt(offset) + 1n).toString() },
            ]);
          },
        });
      } catch (error) {
        // Lost the partition or stopping: the uncommitted records go to the partition's next owner.
        if (!(error instanceof DeliveryAbortedError)) throw error;
      }
    },
  });
  return {
    spec,
    stop: async () => {
      await consumer.disconnect();
    },
  };
}

/**
 * kafkajs' ERROR lines, except the ones a group join logs while a fresh broker is still electing its group
 * coordinator (kafkajs retries those by itself): a clean start prints no ERROR.
 */
function quietStartupLogs(log: ((message: string) => void) | undefined) {
  const transient = /coordinator is not available|coordinator is loading|not the correct coordinator|rebalanc/i;
  return () =>
    ({ level, log: entry }: LogEntry) => {
      if (level !== logLevel.ERROR) return;
      const text = `${entry.message}${entry.error ? `: ${entry.error}` : ''}`;
      if (transient.test(text)) return;
      (log ?? ((m: string) => process.stderr.write(`${m}\n`)))(`kafkajs: ${text}`);
    };
}

function toStrings(headers: Readonly<Record<string, string | Buffer>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v.toString()]));
}
