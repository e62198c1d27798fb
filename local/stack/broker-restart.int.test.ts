import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaRecordProducer, type ProducerRecord, type RecordProducer } from '../../shared/kafka.js';
import { startKafka, stopKafka } from './backend.js';
import type { StackConfig } from './config.js';
import { kafkaHealth } from './health.js';
import { requireRunningStack } from './preflight.js';
import { sleep } from './processes.js';

const RECORDS = 500;
const BATCH = 5;

describe('idempotent producer across a broker restart (local stack)', () => {
  const runId = randomUUID();
  // A scratch topic: nothing else produces to it, so its record count is exactly what this test wrote.
  const topic = `orderflow-int.producer-restart.${runId}`;
  let config: StackConfig;
  let kafka: Kafka;
  let producer: RecordProducer | undefined;

  const kafkajsLogLevel = process.env.KAFKAJS_LOG_LEVEL;

  beforeAll(async () => {
    config = await requireRunningStack();
    // The outage is deliberate: keep kafkajs's connection errors out of the test output.
    process.env.KAFKAJS_LOG_LEVEL = 'nothing';
    kafka = new Kafka({
      clientId: 'orderflow-int-restart',
      brokers: [...config.kafkaBrokers],
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3, replicationFactor: 1 }] });
    await admin.disconnect();
  }, 30_000);

  afterAll(async () => {
    await producer?.disconnect().catch(() => undefined);
    if (kafkajsLogLevel === undefined) delete process.env.KAFKAJS_LOG_LEVEL;
    else process.env.KAFKAJS_LOG_LEVEL = kafkajsLogLevel;
    // Whatever happened, leave a running broker behind for the other suites.
    if (!(await kafkaHealth(config.kafkaBrokers)).healthy) await startKafka();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }, 120_000);

  it('loses no record and duplicates none when the broker stops and starts while producing', async () => {
    // Prepare
    producer = kafkaRecordProducer({
      brokers: config.kafkaBrokers,
      auth: 'none',
      region: config.awsRegion,
      clientId: 'orderflow-int-restart',
    });
    const records: ProducerRecord[] = Array.from({ length: RECORDS }, (_, i) => ({
      topic,
      key: Buffer.from(`${runId}-${i}`),
      value: Buffer.from(String(i)),
      headers: {},
    }));
    let acknowledged = 0;
    const produceAll = async () => {
      // Like a function whose invocation is retried: the same batch again, through the same producer.
      while (acknowledged < RECORDS) {
        try {
          await producer?.send(records.slice(acknowledged, acknowledged + BATCH));
          acknowledged += BATCH;
        } catch {
          await sleep(250);
        }
        await sleep(20);
      }
    };

    // Act: stop the broker a little way in, keep producing while it is down, start it again.
    const producing = produceAll();
    while (acknowledged < 50) await sleep(20);
    await stopKafka();
    const acknowledgedWhenStopped = acknowledged;
    await sleep(2_000);
    await startKafka();
    await producing;

    // Assess: every key exactly once, and no extra record in the log.
    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    const logged = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    const keys = await readAll(kafka, topic, RECORDS);
    expect(acknowledgedWhenStopped).toBeLessThan(RECORDS);
    expect(logged).toBe(RECORDS);
    expect(new Set(keys).size).toBe(keys.length);
    expect([...keys].sort()).toEqual(records.map((r) => r.key?.toString()).sort());
  }, 180_000);
});

/** Reads `topic` from the beginning until `expected` records arrived, then a moment longer to catch extras. */
async function readAll(kafka: Kafka, topic: string, expected: number): Promise<string[]> {
  const keys: string[] = [];
  const consumer = kafka.consumer({ groupId: `orderflow-int-test-${randomUUID()}`, maxWaitTimeInMs: 250 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      keys.push(message.key?.toString() ?? '');
    },
  });
  const deadline = Date.now() + 60_000;
  while (keys.length < expected && Date.now() < deadline) await sleep(100);
  await sleep(1_000);
  await consumer.disconnect();
  return keys;
}
