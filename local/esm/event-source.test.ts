import { describe, expect, it } from '@jest/globals';
import type { Consumer, ConsumerConfig, ConsumerRunConfig, EachBatchPayload } from 'kafkajs';
import type { RecordProducer } from '../../shared/kafka.js';
import { consumerOf } from '../../shared/topology.js';
import { consumerRestartDelayMs, type KafkaLambdaHandler, startLocalEventSource } from './event-source.js';

const EVENTS = { CRASH: 'consumer.crash', GROUP_JOIN: 'consumer.group_join' } as const;

/**
 * A kafkajs consumer double with what a crashed one does: once `crash()` ran, `seek`, `pause` and `resume` throw
 * synchronously and `commitOffsets` rejects, as kafkajs's do after `consumer#run` stopped.
 */
class FakeConsumer {
  readonly events = EVENTS;
  readonly commits: string[] = [];
  crashed = false;
  private readonly listeners = new Map<string, ((event: { payload: unknown }) => void)[]>();
  private eachBatch?: ConsumerRunConfig['eachBatch'];

  on(name: string, listener: (event: { payload: unknown }) => void) {
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), listener]);
    return () => {};
  }
  async connect() {}
  async subscribe() {}
  async run(config: ConsumerRunConfig) {
    this.eachBatch = config.eachBatch;
    this.emit(EVENTS.GROUP_JOIN, {});
  }
  async disconnect() {}
  async commitOffsets(offsets: { offset: string }[]) {
    if (this.crashed) throw new Error('The coordinator is not aware of this member');
    this.commits.push(...offsets.map((o) => o.offset));
  }
  seek() {
    if (this.crashed) throw new Error('Consumer group was not initialized, consumer#run must be called first');
  }
  pause() {
    this.seek();
  }
  resume() {
    this.seek();
  }
  crash(restart: boolean) {
    this.crashed = true;
    this.emit(EVENTS.CRASH, { error: new Error('Connection error: connect ECONNREFUSED'), restart });
  }
  async deliver(offsets: string[]) {
    await this.eachBatch?.({
      batch: {
        topic: 'orders.raw',
        partition: 0,
        messages: offsets.map((offset) => ({
          offset,
          timestamp: String(Date.now()),
          key: Buffer.from('k'),
          value: Buffer.from('v'),
          headers: {},
        })),
        lastOffset: () => offsets.at(-1) ?? '0',
      },
      isStale: () => false,
      resolveOffset: () => {},
    } as unknown as EachBatchPayload);
  }
  private emit(name: string, payload: unknown) {
    for (const listener of this.listeners.get(name) ?? []) listener({ payload });
  }
}

const until = async (condition: () => boolean, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

describe('startLocalEventSource', () => {
  it('creates a new consumer in the same group when kafkajs will not restart a crashed one, and delivers again', async () => {
    // Prepare: the first commit fails because the consumer crashed mid-delivery (the broker was killed).
    const consumers: FakeConsumer[] = [];
    const groups: string[] = [];
    const lines: string[] = [];
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const delivered: string[][] = [];
    const handler: KafkaLambdaHandler = async (event) => {
      delivered.push(Object.values(event.records).flatMap((list) => list.map((r) => String(r.offset))));
      // The broker goes away mid-invocation: the commit that follows fails before kafkajs reports the crash.
      if (consumers.length === 1 && consumers[0]) consumers[0].crashed = true;
      return { batchItemFailures: [] };
    };
    const producer: RecordProducer = { send: async () => {}, disconnect: async () => {} } as unknown as RecordProducer;
    const source = await startLocalEventSource({
      spec: { ...consumerOf('validate-order'), batchingWindowSeconds: 0 },
      handler,
      kafka: { brokers: ['127.0.0.1:9092'] },
      producer,
      log: (line) => lines.push(line),
      restartDelayMs: () => 10,
      createConsumer: (config: ConsumerConfig) => {
        groups.push(config.groupId);
        const consumer = new FakeConsumer();
        consumers.push(consumer);
        return consumer as unknown as Consumer;
      },
    });

    try {
      // Act
      await consumers[0]?.deliver(['0', '1']);
      await until(() => lines.some((l) => l.includes('re-reading')));
      consumers[0]?.crash(false);
      await until(() => consumers.length === 2);
      await consumers[1]?.deliver(['0', '1']);
      await until(() => (consumers[1]?.commits.length ?? 0) > 0);
      await new Promise((resolve) => setTimeout(resolve, 50));

      // Assess: a fresh consumer in the same group re-read the uncommitted records and committed them; one line.
      expect(groups).toEqual(['orderflow.validate-order', 'orderflow.validate-order']);
      expect(delivered).toEqual([
        ['0', '1'],
        ['0', '1'],
      ]);
      expect(consumers[1]?.commits).toEqual(['2']);
      expect(lines.filter((l) => l.includes('will not restart'))).toHaveLength(1);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await source.stop();
    }
  });

  it('leaves a consumer kafkajs restarts itself alone', async () => {
    // Prepare
    const consumers: FakeConsumer[] = [];
    const lines: string[] = [];
    const source = await startLocalEventSource({
      spec: consumerOf('validate-order'),
      handler: async () => ({ batchItemFailures: [] }),
      kafka: { brokers: ['127.0.0.1:9092'] },
      producer: {} as RecordProducer,
      log: (line) => lines.push(line),
      restartDelayMs: () => 10,
      createConsumer: () => {
        const consumer = new FakeConsumer();
        consumers.push(consumer);
        return consumer as unknown as Consumer;
      },
    });

    // Act
    consumers[0]?.crash(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await source.stop();

    // Assess
    expect(consumers).toHaveLength(1);
    expect(lines).toEqual([expect.stringContaining('kafkajs restarts it')]);
  });
});

describe('consumerRestartDelayMs', () => {
  it('doubles from 1 s to a 30 s cap, with the upper half random', () => {
    expect([1, 2, 3, 6, 20].map((n) => consumerRestartDelayMs(n, () => 0))).toEqual([500, 1000, 2000, 15000, 15000]);
    expect([1, 2, 3, 6, 20].map((n) => consumerRestartDelayMs(n, () => 1))).toEqual([1000, 2000, 4000, 30000, 30000]);
  });
});
