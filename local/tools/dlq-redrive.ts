/**
 * `npm run dlq:redrive -- --consumer <function> [--reason <reason>] [--dry-run]`: republishes dead letters of
 * one consumer to their source topic, after the bug or data that made them fail is fixed. Both kinds on the
 * dead-letter topic are redriven: the function's own letters (original bytes plus `dlq-*` headers; `--reason`
 * is a `dlq-reason` such as VALIDATION_ERROR) and the records Lambda's Kafka on-failure destination writes when
 * retries are exhausted or a record is too old (a JSON document carrying the original record; `--reason` is its
 * `condition`, RetriesExhausted or RecordAgeExceeded). Either way the original key, value and headers go back
 * (`dlq-*` headers dropped, `dlq-redriven-from` added).
 *
 * A source record dead-lettered more than once (in on-demand mode a batch retried after a transient failure
 * dead-letters its poison records again) goes back once per run: `firstOfEachSource` keeps its first letter.
 *
 * Each dead letter is redriven at most once: the redrive has its own consumer group per consumer on the
 * dead-letter topic, and every republished batch is produced in a Kafka transaction together with that group's
 * offsets, so a crash either redrives a letter and moves past it, or does neither.
 */
import { parseArgs } from 'node:util';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { kafkaErrorLog } from '../../shared/kafka.js';
import { type DeadLetterMessage, type KafkaRecord, type ParsedDeadLetter, parseDeadLetter } from '../../shared/msk.js';
import { CONSUMERS, type FunctionName, TOPIC_SPECS, TOPICS } from '../../shared/topology.js';
import { applyStackEnv } from '../stack/config.js';

/** Headers of a dead letter to keep on the republished record. */
export function redriveHeaders(headers: Record<string, string>, from: string): Record<string, string> {
  const kept = Object.fromEntries(Object.entries(headers).filter(([name]) => !name.startsWith('dlq-')));
  return { ...kept, 'dlq-redriven-from': from };
}

/**
 * Whether `functionName` is `consumer`'s function: its own name (the local stack, our letters' `dlq-consumer`)
 * or the physical name CloudFormation gives it, `<stack>-<ConsumerName>Function-<suffix>`, as it appears in the
 * `functionArn` of Lambda's records.
 */
export function isFunctionOf(functionName: string, consumer: string): boolean {
  const logicalId = `${consumer.replace(/(^|-)([a-z])/g, (_m, _dash: string, c: string) => c.toUpperCase())}Function`;
  return functionName === consumer || functionName.includes(`-${logicalId}-`) || functionName.endsWith(`-${logicalId}`);
}

/** Whether a dead letter (either kind) belongs to this redrive. */
export function matches(letter: ParsedDeadLetter, consumer: string, reason?: string): boolean {
  if (letter.kind === 'unknown') return false;
  return isFunctionOf(letter.functionName, consumer) && (reason === undefined || letter.reason === reason);
}

/**
 * The original records to republish, leaving out those whose source record (topic, partition, offset) is in
 * `seen` already, and adding the rest to it.
 */
export function firstOfEachSource(records: readonly KafkaRecord[], seen: Set<string>): KafkaRecord[] {
  return records.filter((record) => {
    const source = `${record.topic}-${record.partition}@${record.offset}`;
    if (seen.has(source)) return false;
    seen.add(source);
    return true;
  });
}

/** A kafkajs message of the dead-letter topic, headers as strings. */
export function deadLetterMessageOf(m: {
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, unknown>;
}): DeadLetterMessage {
  const headers = Object.fromEntries(
    Object.entries(m.headers ?? {}).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)]])),
  );
  return { key: m.key, value: m.value, headers };
}

/** Options of `redriveDeadLetters`. */
export interface RedriveOptions {
  /** Connected to the cluster holding the dead-letter topic. */
  readonly kafka: Kafka;
  /** The consumer whose letters go back: a function of `CONSUMERS`. */
  readonly consumer: FunctionName;
  /** Only letters with this `dlq-reason` (or Lambda's `condition`). @default - every reason */
  readonly reason?: string;
  /** Count what would go back, republishing nothing and moving no offset. @default false */
  readonly dryRun?: boolean;
  /** Longest the scan may take; what is left is redriven by the next run. @default 60_000 */
  readonly timeoutMs?: number;
  /** Where skipped letters are reported. @default console.error */
  readonly log?: (message: string) => void;
}

/** What a redrive did. */
export interface RedriveResult {
  /** Letters republished (or that would be, in a dry run). */
  readonly redriven: number;
  /** Records of the dead-letter topic read. */
  readonly scanned: number;
  /** Letters left out as a second letter of a source record already redriven. */
  readonly duplicates: number;
}

/**
 * Redrives `consumer`'s dead letters written since its last redrive (see the module's summary): the letters up to
 * the topic's end when it starts, each at most once.
 *
 * @example
 * const { redriven } = await redriveDeadLetters({ kafka, consumer: 'validate-order' });
 */
export async function redriveDeadLetters(options: RedriveOptions): Promise<RedriveResult> {
  const { kafka, consumer: consumerName, reason } = options;
  const consumerNames = CONSUMERS.map((c) => c.function as string);
  if (!consumerNames.includes(consumerName)) {
    throw new Error(`consumer must be one of ${consumerNames.join(', ')} (got ${consumerName})`);
  }
  const log = options.log ?? ((m: string) => console.error(m));
  const groupId = `orderflow.dlq-redrive.${consumerName}`;
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(TOPICS.ORDERS_DLQ);
  // What is left per partition starts at the group's committed offset: a redrive with nothing new ends at once.
  const committed = await admin.fetchOffsets({ groupId, topics: [TOPICS.ORDERS_DLQ] });
  await admin.disconnect();
  const committedOf = (partition: number) =>
    BigInt(committed[0]?.partitions.find((p) => p.partition === partition)?.offset ?? '-1');
  const remaining = new Map(
    ends.map((p) => {
      const from = committedOf(p.partition) >= 0n ? committedOf(p.partition) : BigInt(p.low);
      return [p.partition, BigInt(p.high) - from];
    }),
  );

  const producer = kafka.producer({
    transactionalId: groupId,
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const consumer = kafka.consumer({ groupId, readUncommitted: false });
  await Promise.all([producer.connect(), consumer.connect()]);
  await consumer.subscribe({ topic: TOPICS.ORDERS_DLQ, fromBeginning: true });
  const topics = new Set<string>(TOPIC_SPECS.map((t) => t.name));
  const seen = new Set<string>();
  let duplicates = 0;
  let scanned = 0;
  let redriven = 0;
  let timer: NodeJS.Timeout | undefined;
  try {
    const done = new Promise<void>((resolve, reject) => {
      const check = () => {
        if ([...remaining.values()].every((left) => left <= 0n)) resolve();
      };
      check();
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const matching = batch.messages.flatMap((m) => {
              const letter = parseDeadLetter(deadLetterMessageOf(m));
              if (letter.kind === 'unknown' || !matches(letter, consumerName, reason)) return [];
              const unknown = letter.records.filter((r) => !topics.has(r.topic));
              if (unknown.length > 0) {
                log(
                  `dlq:redrive: skipping ${TOPICS.ORDERS_DLQ}/${batch.partition}@${m.offset}: source topic ${unknown.map((r) => `'${r.topic}'`).join(', ')} is not in the topology`,
                );
                return [];
              }
              const originals = firstOfEachSource(letter.records, seen);
              duplicates += letter.records.length - originals.length;
              return originals.length > 0 ? [{ offset: m.offset, originals }] : [];
            });
            scanned += batch.messages.length;
            const last = batch.messages.at(-1);
            if (!last) return;
            if (!options.dryRun) {
              const transaction = await producer.transaction();
              try {
                for (const { offset, originals } of matching) {
                  // One original record per letter of ours; Lambda's records carry theirs in `payload.records`.
                  for (const original of originals) {
                    await transaction.send({
                      topic: original.topic,
                      messages: [
                        {
                          key: original.key,
                          value: original.value,
                          headers: redriveHeaders(
                            { ...original.headers },
                            `${TOPICS.ORDERS_DLQ}/${batch.partition}@${offset}`,
                          ),
                        },
                      ],
                    });
                  }
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
        })
        .catch(reject);
    });
    await Promise.race([
      done,
      new Promise((resolve) => {
        timer = setTimeout(resolve, options.timeoutMs ?? 60_000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
    await producer.disconnect();
  }
  return { redriven, scanned, duplicates };
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
    // Without the lines kafkajs logs for errors it retries itself: CONCURRENT_TRANSACTIONS, answered while the
    // previous batch's transaction markers are still being written, is one of them (see shared/kafka.ts).
    logCreator: kafkaErrorLog(),
  });
  const { redriven, scanned, duplicates } = await redriveDeadLetters({
    kafka,
    consumer: values.consumer as FunctionName,
    reason: values.reason,
    dryRun: values['dry-run'],
  });
  console.log(
    `${values['dry-run'] ? 'would redrive' : 'redrove'} ${redriven} dead letter(s) of ${values.consumer}${values.reason ? ` (${values.reason})` : ''}; scanned ${scanned} new record(s) of ${TOPICS.ORDERS_DLQ}${duplicates > 0 ? `, ${duplicates} duplicate(s) of a source record left out` : ''}`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(`dlq:redrive: ${(error as Error).message}`);
    process.exit(1);
  });
}
