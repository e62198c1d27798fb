/**
 * `npm run dlq:redrive -- --consumer <function> [--reason <DLQ reason>] [--dry-run]`: republishes dead letters of
 * one consumer to their source topic, after the bug or data that made them fail is fixed. The original key, value
 * and headers go back (the `dlq-*` headers are dropped, `dlq-redriven-from` is added).
 *
 * Each dead letter is redriven at most once: the redrive has its own consumer group per consumer on the
 * dead-letter topic, and every republished batch is produced in a Kafka transaction together with that group's
 * offsets, so a crash either redrives a letter and moves past it, or does neither.
 */
import { parseArgs } from 'node:util';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { CONSUMERS, TOPICS } from '../../shared/topology.js';
import { applyStackEnv } from '../stack/config.js';

/** Headers of a dead letter to keep on the republished record. */
export function redriveHeaders(headers: Record<string, string>, from: string): Record<string, string> {
  const kept = Object.fromEntries(Object.entries(headers).filter(([name]) => !name.startsWith('dlq-')));
  return { ...kept, 'dlq-redriven-from': from };
}

/** Whether a dead letter belongs to this redrive. */
export function matches(headers: Record<string, string>, consumer: string, reason?: string): boolean {
  return headers['dlq-consumer'] === consumer && (reason === undefined || headers['dlq-reason'] === reason);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      consumer: { type: 'string' },
      reason: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
    },
  });
  const consumerNames = CONSUMERS.map((c) => c.function);
  if (!values.consumer || !consumerNames.includes(values.consumer as (typeof consumerNames)[number])) {
    throw new Error(`--consumer must be one of ${consumerNames.join(', ')} (got ${values.consumer ?? 'nothing'})`);
  }
  const config = applyStackEnv();
  const kafka = new Kafka({
    clientId: 'orderflow-dlq-redrive',
    brokers: [...config.kafkaBrokers],
    logLevel: logLevel.ERROR,
  });
  const groupId = `orderflow.dlq-redrive.${values.consumer}`;
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(TOPICS.ORDERS_DLQ);
  await admin.disconnect();
  const remaining = new Map(ends.map((p) => [p.partition, BigInt(p.high)]));

  const producer = kafka.producer({
    transactionalId: groupId,
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const consumer = kafka.consumer({ groupId, readUncommitted: false });
  await Promise.all([producer.connect(), consumer.connect()]);
  await consumer.subscribe({ topic: TOPICS.ORDERS_DLQ, fromBeginning: true });
  let scanned = 0;
  let redriven = 0;
  const done = new Promise<void>((resolve) => {
    const check = () => {
      if ([...remaining.values()].every((left) => left <= 0n)) resolve();
    };
    check();
    void consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const matching = batch.messages.filter((m) => {
          const headers = Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)]));
          return matches(headers, values.consumer as string, values.reason);
        });
        scanned += batch.messages.length;
        const last = batch.messages.at(-1);
        if (!last) return;
        if (!values['dry-run']) {
          const transaction = await producer.transaction();
          try {
            for (const m of matching) {
              const headers = Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)]));
              const topic = headers['dlq-source-topic'] ?? '';
              await transaction.send({
                topic,
                messages: [
                  {
                    key: m.key,
                    value: m.value,
                    headers: redriveHeaders(headers, `${TOPICS.ORDERS_DLQ}/${batch.partition}@${m.offset}`),
                  },
                ],
              });
            }
            await transaction.sendOffsets({
              consumerGroupId: groupId,
              topics: [
                {
                  topic: batch.topic,
                  partitions: [{ partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() }],
                },
              ],
            });
            await transaction.commit();
          } catch (error) {
            await transaction.abort();
            throw error;
          }
        }
        redriven += matching.length;
        const end = BigInt(ends.find((p) => p.partition === batch.partition)?.high ?? '0');
        remaining.set(batch.partition, end - (BigInt(last.offset) + 1n));
        check();
      },
    });
  });
  await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 60_000))]);
  await consumer.disconnect();
  await producer.disconnect();
  console.log(
    `${values['dry-run'] ? 'would redrive' : 'redrove'} ${redriven} dead letter(s) of ${values.consumer}${values.reason ? ` (${values.reason})` : ''}; scanned ${scanned} new record(s) of ${TOPICS.ORDERS_DLQ}`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(`dlq:redrive: ${(error as Error).message}`);
    process.exit(1);
  });
}
