/**
 * `npm run tail -- --topic orders.validated` prints records as they arrive: key, headers and the value decoded
 * through the registry as JSON (emails masked). `--dlq` tails the dead-letter topic and shows, for both kinds of
 * letter there (a function's own, `[handler]`, and Lambda's on-failure destination records, `[event-source]`),
 * the reason or condition, the function, the source record and its decoded event. `--from-beginning` replays
 * what the topic holds first.
 */
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import type { EventCodec } from '../../shared/codec.js';
import { type KafkaRecord, type ParsedDeadLetter, parseDeadLetter } from '../../shared/msk.js';
import { maskEmail } from '../../shared/observability.js';
import { TOPIC_SPECS, TOPICS } from '../../shared/topology.js';
import { localCodec } from '../stack/codec.js';
import { applyStackEnv } from '../stack/config.js';

/** Replaces every `email` field's value with its masked form, recursively. */
export function maskEmails(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskEmails);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, k === 'email' && typeof v === 'string' ? maskEmail(v) : maskEmails(v)]),
    );
  }
  return value;
}

/** One original record of a dead letter, as `tail --dlq` and the dashboard show it. */
export type DeadLetterEntry =
  | {
      /** Where the letter is: `orders.dlq-<partition>@<offset>`. */
      readonly where: string;
      readonly kind: 'handler' | 'event-source';
      readonly reason: string;
      /** The function that gave up. */
      readonly functionName: string;
      readonly failedAt: string;
      /** The source record: `<topic>-<partition>@<offset>`. */
      readonly source: string;
      readonly key: string | null;
      readonly detail: string;
      readonly record: KafkaRecord;
    }
  | { readonly where: string; readonly kind: 'unknown'; readonly problem: string };

/** The entries of a dead letter: one per original record, or one saying why it is not a letter. */
export function deadLetterEntries(where: string, letter: ParsedDeadLetter): DeadLetterEntry[] {
  if (letter.kind === 'unknown') return [{ where, kind: 'unknown', problem: letter.problem }];
  return letter.records.map((record) => ({
    where,
    kind: letter.kind,
    reason: letter.reason,
    functionName: letter.functionName,
    failedAt: letter.failedAt,
    source: `${record.topic}-${record.partition}@${record.offset}`,
    key: record.key?.toString() ?? null,
    detail: letter.detail,
    record,
  }));
}

/**
 * One line per original record of a dead letter: where the letter is, its kind, reason and function, the source
 * record and key, when and why, and `decoded` (the event, or why it did not decode) when given.
 */
export function describeDeadLetter(
  where: string,
  letter: ParsedDeadLetter,
  decoded: (record: KafkaRecord) => string = () => '',
): string[] {
  return deadLetterEntries(where, letter).map((entry) => {
    if (entry.kind === 'unknown') return `${where} [unknown] ${entry.problem}`;
    const event = decoded(entry.record);
    return `${where} [${entry.kind}] ${entry.reason} by ${entry.functionName} at ${entry.failedAt} from ${entry.source} key=${entry.key}: ${entry.detail}${event ? ` ${event}` : ''}`;
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      topic: { type: 'string' },
      dlq: { type: 'boolean', default: false },
      'from-beginning': { type: 'boolean', default: false },
    },
  });
  const topic = values.dlq ? TOPICS.ORDERS_DLQ : values.topic;
  const known = TOPIC_SPECS.map((t) => t.name as string);
  if (!topic || !known.includes(topic))
    throw new Error(`--topic must be one of ${known.join(', ')} (or use --dlq); got ${topic ?? 'nothing'}`);
  const config = applyStackEnv();
  const codec = localCodec(config);
  const kafka = new Kafka({ clientId: 'orderflow-tail', brokers: [...config.kafkaBrokers], logLevel: logLevel.ERROR });
  const consumer = kafka.consumer({ groupId: `orderflow-tail-${process.pid}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: values['from-beginning'] });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
      const where = `${topic}-${partition}@${message.offset}`;
      const key = message.key?.toString() ?? null;
      if (topic === TOPICS.ORDERS_DLQ) {
        const letter = parseDeadLetter({ key: message.key, value: message.value, headers });
        const events = new Map<KafkaRecord, string>();
        if (letter.kind !== 'unknown') {
          for (const record of letter.records) events.set(record, await decodedText(codec, record));
        }
        for (const line of describeDeadLetter(where, letter, (r) => events.get(r) ?? '')) console.log(line);
        return;
      }
      try {
        const event = await codec.decode(message.value, { topic, partition, offset: message.offset });
        console.log(JSON.stringify({ where, key, headers, value: maskEmails(event) }));
      } catch (error) {
        console.log(JSON.stringify({ where, key, headers, undecodable: (error as Error).message }));
      }
    },
  });
  const stop = async () => {
    await consumer.disconnect();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** The record's value decoded through the registry as JSON (emails masked), or why it did not decode. */
async function decodedText(codec: EventCodec, record: KafkaRecord): Promise<string> {
  try {
    return JSON.stringify(maskEmails(await codec.decode(record.value, record)));
  } catch (error) {
    return `(undecodable: ${(error as Error).message})`;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(`tail: ${(error as Error).message}`);
    process.exit(1);
  });
}
