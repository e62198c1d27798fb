/**
 * A local stand-in for Lambda's Kafka event-source mapping: one kafkajs consumer per topology consumer, in the
 * same consumer group, building exactly the MSK event Lambda sends and invoking the function's exported handler
 * in-process. Delivery rules live in `delivery.ts`; this file only connects them to a broker.
 */
import type { Context } from 'aws-lambda';
import { type Consumer, type ConsumerConfig, Kafka, type KafkaConfig } from 'kafkajs';
import { kafkaErrorLog, type RecordProducer } from '../../shared/kafka.js';
import type { KafkaBatchResponse, MskEvent, PollerMode, RawKafkaRecord } from '../../shared/msk.js';
import type { ConsumerSpec } from '../../shared/topology.js';
import { lambdaContext } from './context.js';
import { DeliveryAbortedError, deliverPartition, deliveryPolicyOf, destinationRecordsOf } from './delivery.js';

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
  /**
   * The mapping's poller mode, as the function sees it in `POLLER_MODE`: `on-demand` ignores `batchItemFailures`
   * and retries a failed invocation whole, with no retry or age limit, as Lambda's on-demand pollers do.
   * @default 'provisioned'
   */
  readonly pollerMode?: PollerMode;
  /** Called after every invocation, for the dev status line and tests. */
  readonly onInvoke?: (info: { records: number; failed: number; ms: number }) => void;
  readonly log?: (message: string) => void;
  /**
   * Creates the kafkajs consumers: one at start, and a fresh one each time kafkajs gives up on the current one.
   * @default - consumers of a `new Kafka(options.kafka)`
   */
  readonly createConsumer?: (config: ConsumerConfig) => Consumer;
  /**
   * Wait before the `attempt`-th (1-based) try to recreate a consumer kafkajs will not restart.
   * @default - `consumerRestartDelayMs`: 1 s doubling to 30 s, with jitter
   */
  readonly restartDelayMs?: (attempt: number) => number;
}

/**
 * Wait before the `attempt`-th (1-based) try to recreate a crashed consumer: 1 s doubling, capped at 30 s, the upper
 * half of it random (pollers of several consumers do not come back in lock step). Lambda's poller keeps trying to
 * reach the cluster for as long as the mapping is enabled; so does the local one.
 */
export function consumerRestartDelayMs(attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(1_000 * 2 ** (attempt - 1), 30_000);
  return Math.round(cap / 2 + (random() * cap) / 2);
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
  const createConsumer =
    options.createConsumer ??
    ((config: ConsumerConfig) => {
      const kafka = new Kafka({ ...options.kafka, logCreator: kafkaErrorLog(options.log) });
      return kafka.consumer(config);
    });
  const consumerConfig: ConsumerConfig = {
    groupId: spec.groupId,
    // A member that died (a SIGKILLed dev, a consumer kafkajs replaced after a broker restart) holds its partitions
    // until its session expires: 10 s instead of kafkajs' 30 s, so a restart resumes ~20 s sooner. Safe because
    // eachBatch only queues (delivery runs beside it), so heartbeats every 3 s are never held up by an invocation.
    sessionTimeout: 10_000,
    heartbeatInterval: 3_000,
    // Fetches return as soon as some data is there; the batching window is applied per partition below.
    maxWaitTimeInMs: 250,
    minBytes: 1,
    // Bounds what one fetch adds to a partition's queue (a larger single record still comes through, KIP-74).
    maxBytesPerPartition: 1024 * 1024,
  };
  const bootstrapServers = Array.isArray(options.kafka.brokers) ? options.kafka.brokers.join(',') : 'localhost:9092';
  const eventSourceArn = `arn:aws:kafka:us-east-1:000000000000:cluster/orderflow-local/${spec.groupId}`;
  const windowMs = spec.batchingWindowSeconds * 1000;
  const policy = deliveryPolicyOf(spec, options.pollerMode ?? 'provisioned');
  const restartDelayMs = options.restartDelayMs ?? consumerRestartDelayMs;
  // Records queued per partition before its fetching pauses (back-pressure), and resumes.
  const highWater = Math.max(spec.batchSize * 4, 500);
  let running = true;
  let generation = 0;
  const queues = new Map<string, PartitionQueue>();
  /** The consumer in use; replaced by the supervisor when kafkajs gives up on it. */
  let consumer: Consumer = createConsumer(consumerConfig);
  /** Tries since the last consumer that joined its group; 0 when none is under way. */
  let restartAttempts = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let restarting: Promise<void> | undefined;

  /**
   * A consumer that crashed throws synchronously from `seek`, `pause` and `resume` ("consumer#run must be called
   * first"); the supervisor's new consumer reads from the committed offsets anyway, so these calls are best effort.
   */
  const onConsumer = (action: (c: Consumer) => void): void => {
    try {
      action(consumer);
    } catch {
      // The consumer is gone; its replacement starts from the committed offsets.
    }
  };

  /** Forgets what is queued and makes deliveries in flight abandon their partitions (nothing more is committed). */
  const abandonQueues = () => {
    generation += 1;
    for (const queue of queues.values()) {
      queue.generation = generation;
      queue.records = [];
      queue.firstQueuedAt = undefined;
      queue.resumeFrom = undefined;
      queue.paused = false;
    }
  };

  // Lambda's provisioned pollers keep one batch in flight per partition and every partition moves on its own;
  // kafkajs would hold every partition of a fetch until the slowest is done, so eachBatch only queues the
  // records (and advances the fetch position) and each partition is delivered by a loop of its own. The loop
  // never rejects: its promise is kept in `queue.draining` with nobody awaiting it until `stop()`, so a rejection
  // would be unhandled and end the process.
  const drain = async (queue: PartitionQueue): Promise<void> => {
    const mine = queue.generation;
    // A new invocation starts only while running and in the same group generation; one in flight when the
    // consumer stops still commits (Ctrl-C drains), one from before a rebalance never does.
    const owned = () => queue.generation === mine;
    const current = () => running && owned();
    try {
      while (current() && queue.records.length > 0) {
        // MaximumBatchingWindowInSeconds: wait for a full batch, or until the oldest record waited the window.
        const wait = (queue.firstQueuedAt ?? Date.now()) + windowMs - Date.now();
        if (queue.records.length < spec.batchSize && wait > 0) {
          await new Promise((resolve) => setTimeout(resolve, Math.min(wait, 250)));
          continue;
        }
        const records = queue.records.splice(0);
        queue.firstQueuedAt = undefined;
        if (queue.paused) {
          onConsumer((c) => c.resume([{ topic: queue.topic, partitions: [queue.partition] }]));
          queue.paused = false;
        }
        await deliverPartition(records, policy, {
          bootstrapServers,
          eventSourceArn,
          now: () => Date.now(),
          sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
          invoke: async (event) => {
            if (!current()) throw new DeliveryAbortedError('partition revoked or consumer stopping');
            const started = Date.now();
            const response = await options.handler(event, lambdaContext(spec.function, options.timeoutMs ?? 60_000));
            options.onInvoke?.({
              records: Object.values(event.records).reduce((n, list) => n + list.length, 0),
              failed: response?.batchItemFailures?.length ?? 0,
              ms: Date.now() - started,
            });
            return response;
          },
          onFailure: async (failed, failure) => {
            // The cause and last error go to this log line only: Lambda's record carries neither.
            const letters = destinationRecordsOf(failed, failure, {
              functionName: spec.function,
              bootstrapServers,
              eventSourceArn,
              failedAt: new Date(),
            });
            await options.producer.send(letters.map((letter) => ({ topic: spec.onFailureTopic, ...letter })));
            options.log?.(
              `${spec.function}: ${failed.length} record(s) sent to ${spec.onFailureTopic} (${failure.cause}: ${failure.error})`,
            );
          },
          commit: async (offset) => {
            if (!owned()) throw new DeliveryAbortedError('partition revoked');
            const next = (BigInt(offset) + 1n).toString();
            await consumer.commitOffsets([{ topic: queue.topic, partition: queue.partition, offset: next }]);
            queue.resumeFrom = next;
          },
        });
      }
    } catch (error) {
      // Lost the partition or stopping: the uncommitted records go to the partition's next owner (or to this
      // consumer again, from the committed offset, after the rebalance).
      if (!(error instanceof DeliveryAbortedError) && current()) {
        // A failure outside the retry policy (the dead-letter write, a commit): read the partition again from
        // its last committed offset, as a poller restarting on it would.
        options.log?.(
          `${spec.function}: delivery of ${queue.topic}-${queue.partition} failed, re-reading from offset ${queue.resumeFrom ?? 'the committed one'}: ${(error as Error).message}`,
        );
        queue.records = [];
        queue.firstQueuedAt = undefined;
        const from = queue.resumeFrom;
        if (from !== undefined)
          onConsumer((c) => c.seek({ topic: queue.topic, partition: queue.partition, offset: from }));
        if (queue.paused) {
          onConsumer((c) => c.resume([{ topic: queue.topic, partitions: [queue.partition] }]));
          queue.paused = false;
        }
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    } finally {
      queue.draining = undefined;
      // Records queued meanwhile (or after a rebalance, for the new generation) get a loop of their own.
      if (running && queue.records.length > 0) queue.draining = drain(queue);
    }
  };

  /** Connects `c`, subscribes it and starts its fetch loop; resolves once it has joined the group. */
  const startConsumer = async (c: Consumer): Promise<void> => {
    c.on(c.events.CRASH, ({ payload }) => {
      if (c !== consumer) return;
      if (payload.restart) {
        options.log?.(`${spec.function}: consumer crashed (${payload.error.message}); kafkajs restarts it`);
        return;
      }
      // kafkajs gives up on a non-retriable error (one that outlived its retries against a broker that is away):
      // the supervisor creates a new consumer, as Lambda's poller reconnects, and it resumes from the commits.
      options.log?.(
        `${spec.function}: consumer crashed (${payload.error.message}) and kafkajs will not restart it; ` +
          'creating a new one in the same group, from the committed offsets, retrying with backoff up to 30 s',
      );
      scheduleRestart();
    });
    c.on(c.events.GROUP_JOIN, () => {
      if (c !== consumer) return;
      restartAttempts = 0;
      // A rebalance resets every fetch position to the committed offsets: forget what is queued and abandon
      // deliveries in flight, exactly as a Lambda poller that lost its partitions would.
      abandonQueues();
    });
    await c.connect();
    for (const topic of spec.topics) {
      await c.subscribe({ topic, fromBeginning: spec.startingPosition === 'TRIM_HORIZON' });
    }
    await c.run({
      partitionsConsumedConcurrently: 1,
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, isStale, resolveOffset }) => {
        if (isStale() || !running || c !== consumer || batch.messages.length === 0) return;
        const key = `${batch.topic}-${batch.partition}`;
        let queue = queues.get(key);
        if (!queue) {
          queue = { topic: batch.topic, partition: batch.partition, records: [], paused: false, generation };
          queues.set(key, queue);
        }
        queue.generation = generation;
        queue.resumeFrom ??= batch.messages[0]?.offset;
        for (const m of batch.messages) {
          queue.records.push({
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
          });
        }
        queue.firstQueuedAt ??= Date.now();
        // Moves kafkajs' fetch position past what is queued; the group's offset is committed only once delivered.
        resolveOffset(batch.lastOffset());
        if (queue.records.length >= highWater && !queue.paused) {
          c.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
          queue.paused = true;
        }
        queue.draining ??= drain(queue);
      },
    });
  };

  /** Replaces the consumer kafkajs gave up on with a fresh one, after a capped backoff; again until one joins. */
  const scheduleRestart = () => {
    if (!running || restartTimer !== undefined || restarting !== undefined) return;
    abandonQueues();
    restartAttempts += 1;
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      restarting = (async () => {
        const previous = consumer;
        await previous.disconnect().catch(() => undefined);
        if (!running) return;
        consumer = createConsumer(consumerConfig);
        try {
          await startConsumer(consumer);
          if (!running) await consumer.disconnect().catch(() => undefined);
        } catch {
          // Still unreachable: the next try waits longer (the one log line was written at the crash).
          restarting = undefined;
          scheduleRestart();
        }
      })().finally(() => {
        restarting = undefined;
      });
    }, restartDelayMs(restartAttempts));
  };

  await startConsumer(consumer);

  return {
    spec,
    stop: async () => {
      // Deliveries in flight finish their invocation and commit; nothing new starts.
      running = false;
      clearTimeout(restartTimer);
      await restarting;
      await Promise.all([...queues.values()].map((q) => q.draining));
      await consumer.disconnect();
    },
  };
}

/** Records of one topic-partition waiting for delivery, and its delivery loop. */
interface PartitionQueue {
  readonly topic: string;
  readonly partition: number;
  records: RawKafkaRecord[];
  /** When the oldest queued record arrived, for the batching window. */
  firstQueuedAt?: number;
  /** Fetching is paused while the queue is above its high-water mark. */
  paused: boolean;
  /** Rebalance generation the queue belongs to. */
  generation: number;
  /** The partition's next offset to deliver, as last committed (or first fetched); re-read from here on failure. */
  resumeFrom?: string;
  draining?: Promise<void>;
}
