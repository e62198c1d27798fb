/**
 * Helpers of the integration tests: a consumer that sees only what is produced after it was created, without
 * racing the group join (once joined, it seeks to the ends the topics had before it started).
 */
import { randomUUID } from 'node:crypto';
import { Kafka, type KafkaMessage, logLevel } from 'kafkajs';

/** A consumed record with where it came from. */
export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly message: KafkaMessage;
}

/** A running tail consumer. */
export interface TailConsumer {
  /** Resolves with the records seen so far once `done(records)` holds; rejects after `timeoutMs`. */
  until(done: (records: readonly ConsumedRecord[]) => boolean, timeoutMs: number): Promise<ConsumedRecord[]>;
  stop(): Promise<void>;
}

/**
 * Starts a consumer in a new group on `topics`, positioned at their current ends.
 *
 * @example
 * const tail = await tailTopics(brokers, ['orders.raw']);
 * await producer.send(records);
 * const seen = await tail.until((r) => r.length >= records.length, 30_000);
 */
export async function tailTopics(brokers: readonly string[], topics: readonly string[]): Promise<TailConsumer> {
  const kafka = new Kafka({ clientId: 'orderflow-int-test', brokers: [...brokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends: { topic: string; partition: number; offset: string }[] = [];
  try {
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic))
        ends.push({ topic, partition: p.partition, offset: p.high });
    }
  } finally {
    await admin.disconnect();
  }
  const records: ConsumedRecord[] = [];
  // A short fetch wait keeps disconnect quick; kafkajs waits for the pending fetch before leaving the group.
  const consumer = kafka.consumer({ groupId: `orderflow-int-test-${randomUUID()}`, maxWaitTimeInMs: 250 });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.connect();
  await consumer.subscribe({ topics: [...topics], fromBeginning: false });
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      records.push({ topic, partition, offset: message.offset, message });
    },
  });
  await joined;
  // Start exactly at the ends seen above, whatever the group's reset policy made of them meanwhile.
  for (const end of ends) consumer.seek(end);
  return {
    async until(done, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!done(records)) {
        if (Date.now() > deadline) {
          throw new Error(`timed out after ${timeoutMs} ms with ${records.length} record(s) consumed`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return [...records];
    },
    async stop() {
      await consumer.disconnect();
    },
  };
}
