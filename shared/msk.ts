/**
 * Lambda's Kafka event (MSK and self-managed) in, per-record outcomes out.
 *
 * Event shape: https://docs.aws.amazon.com/lambda/latest/dg/with-msk.html — `records` keyed by
 * `topic-partition`, base64 `key` and `value` (absent for a null key and for a tombstone), headers as a list
 * of one-entry objects mapping the header name to its bytes as numbers.
 */

import type { RecordRef } from './codec.js';
import type { DlqReason } from './errors.js';
import { isTransient, type PermanentError } from './errors.js';

/** One header of a Lambda Kafka record: `{ name: [byte, byte, ...] }`. */
export type MskHeader = Record<string, number[]>;

/** A record as Lambda delivers it. */
export interface MskRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly timestampType: string;
  readonly key?: string | null;
  readonly value?: string | null;
  readonly headers: readonly MskHeader[];
}

/** The event Lambda's Kafka event-source mapping invokes a function with. */
export interface MskEvent {
  readonly eventSource: 'aws:kafka' | 'SelfManagedKafka';
  readonly eventSourceArn?: string;
  readonly bootstrapServers: string;
  readonly records: Readonly<Record<string, readonly MskRecord[]>>;
}

/**
 * Partial batch response for Kafka event sources with `ReportBatchItemFailures` (provisioned mode): one entry per
 * failed record, `partition` being the `topic-partition` key of `records` (a string) and `offset` a number. An
 * empty list means success; an identifier that was not in the event fails the whole batch. We report only the
 * first failure of each partition, so the checkpoint is unambiguous.
 * https://docs.aws.amazon.com/lambda/latest/dg/kafka-retry-configurations.html#kafka-partial-batch-response
 */
export interface KafkaBatchResponse {
  readonly batchItemFailures: KafkaBatchItemFailure[];
}

/** One failed record in a `KafkaBatchResponse`. */
export interface KafkaBatchItemFailure {
  readonly itemIdentifier: { readonly partition: string; readonly offset: number };
}

/** A Kafka record with its bytes decoded from base64 and headers as strings. */
export interface KafkaRecord extends RecordRef {
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

/** A record on its way to the dead-letter topic: the original bytes plus `dlq-*` headers. */
export interface DeadLetter {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

/** Where dead letters go (`orders.dlq`). `send` resolves once the broker acknowledged the record. */
export interface DeadLetterSink {
  send(letter: DeadLetter): Promise<void>;
}

/** Per-record callback: process one record, throwing `PermanentError` to dead-letter it. */
export type RecordProcessor = (record: KafkaRecord) => Promise<void>;

/** What happened to each record of a batch; for logs, metrics and tests. */
export interface BatchSummary {
  readonly processed: number;
  readonly deadLettered: number;
  readonly failed: number;
  readonly skipped: number;
}

/** Minimal logger the batch loop needs (Powertools' `Logger` fits). */
export interface BatchLogger {
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
}

/** Options of `processKafkaBatch`. */
export interface ProcessBatchOptions {
  /** Function name, written to the `dlq-consumer` header. */
  readonly consumer: string;
  /** Processes one record. */
  readonly process: RecordProcessor;
  /** Receives permanently failed records. */
  readonly deadLetters: DeadLetterSink;
  readonly logger: BatchLogger;
  /** Clock for `dlq-failed-at`. @default - the system clock */
  readonly now?: () => Date;
}

/** Decodes the records of a Lambda Kafka event, ordered by partition then offset. */
export function recordsOf(event: MskEvent): KafkaRecord[] {
  const records: KafkaRecord[] = [];
  for (const batch of Object.values(event.records)) {
    for (const r of batch) records.push(toKafkaRecord(r));
  }
  return records.sort((a, b) =>
    a.topic === b.topic
      ? a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset))
      : a.topic < b.topic
        ? -1
        : 1,
  );
}

/** One Lambda Kafka record with base64 decoded and headers joined into strings. */
export function toKafkaRecord(r: MskRecord): KafkaRecord {
  const headers: Record<string, string> = {};
  for (const header of r.headers ?? []) {
    for (const [name, bytes] of Object.entries(header)) headers[name] = Buffer.from(bytes).toString('utf8');
  }
  return {
    topic: r.topic,
    partition: r.partition,
    offset: String(r.offset),
    timestamp: r.timestamp,
    key: r.key ? Buffer.from(r.key, 'base64') : null,
    value: r.value === undefined || r.value === null ? null : Buffer.from(r.value, 'base64'),
    headers,
  };
}

/**
 * Runs `process` over every record of a Kafka batch and builds the partial batch response.
 *
 * - A `PermanentError` sends the record to the dead-letter sink with its reason, and the partition moves on.
 * - Any other error is transient: the record is reported in `batchItemFailures` and nothing after it in the
 *   same partition is attempted, so the event source retries the partition from that record, in order.
 * - A dead letter that cannot be written is treated as a transient failure of its record: nothing is lost.
 *
 * @example
 * export const handler = async (event: MskEvent) =>
 *   (await processKafkaBatch(event, { consumer: 'validate-order', process, deadLetters, logger })).response;
 */
export async function processKafkaBatch(
  event: MskEvent,
  options: ProcessBatchOptions,
): Promise<{ response: KafkaBatchResponse; summary: BatchSummary }> {
  const now = options.now ?? (() => new Date());
  const failures: KafkaBatchItemFailure[] = [];
  const blocked = new Set<string>();
  let processed = 0;
  let deadLettered = 0;
  let skipped = 0;
  for (const record of recordsOf(event)) {
    const partitionKey = `${record.topic}-${record.partition}`;
    if (blocked.has(partitionKey)) {
      skipped += 1;
      continue;
    }
    try {
      await options.process(record);
      processed += 1;
      continue;
    } catch (error) {
      if (!isTransient(error)) {
        const permanent = error as PermanentError;
        try {
          await options.deadLetters.send(
            deadLetterOf(record, permanent.reason, permanent.message, options.consumer, now()),
          );
          options.logger.warn('record dead-lettered', {
            ...refOf(record),
            reason: permanent.reason,
            error: permanent.message,
          });
          deadLettered += 1;
          continue;
        } catch (dlqError) {
          options.logger.error('dead letter could not be written; retrying the record', {
            ...refOf(record),
            error: dlqError,
          });
        }
      } else {
        options.logger.error('record failed; the event source will retry it', { ...refOf(record), error });
      }
    }
    blocked.add(partitionKey);
    failures.push({ itemIdentifier: { partition: partitionKey, offset: Number(record.offset) } });
  }
  return {
    response: { batchItemFailures: failures },
    summary: { processed, deadLettered, failed: failures.length, skipped },
  };
}

/** The dead letter for `record`: its original key and value with `dlq-*` headers added. */
export function deadLetterOf(
  record: KafkaRecord,
  reason: DlqReason,
  message: string,
  consumer: string,
  failedAt: Date,
): DeadLetter {
  return {
    key: record.key,
    value: record.value,
    headers: {
      ...record.headers,
      'dlq-reason': reason,
      'dlq-error': message,
      'dlq-source-topic': record.topic,
      'dlq-source-partition': String(record.partition),
      'dlq-source-offset': record.offset,
      'dlq-consumer': consumer,
      'dlq-failed-at': failedAt.toISOString(),
    },
  };
}

function refOf(record: KafkaRecord): RecordRef {
  return { topic: record.topic, partition: record.partition, offset: record.offset };
}

/** A record to put into a Lambda Kafka event (fixtures, the local event source). */
export interface RawKafkaRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string | number;
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string | Buffer>>;
}

/**
 * Builds the event Lambda would send for `records`: grouped by `topic-partition`, base64 key and value, headers
 * as byte arrays; a null key or value is left out, as Lambda does.
 *
 * @example
 * const event = toMskEvent([{ topic: 'orders.raw', partition: 0, offset: 0, ... }], { bootstrapServers: '127.0.0.1:9092' });
 */
export function toMskEvent(
  records: readonly RawKafkaRecord[],
  source: { bootstrapServers: string; eventSourceArn?: string },
): MskEvent {
  const grouped: Record<string, MskRecord[]> = {};
  for (const r of records) {
    const mskRecord: MskRecord = {
      topic: r.topic,
      partition: r.partition,
      offset: Number(r.offset),
      timestamp: r.timestamp,
      timestampType: 'CREATE_TIME',
      ...(r.key ? { key: r.key.toString('base64') } : {}),
      ...(r.value ? { value: r.value.toString('base64') } : {}),
      headers: Object.entries(r.headers).map(([name, v]) => ({
        [name]: [...(typeof v === 'string' ? Buffer.from(v, 'utf8') : v)],
      })),
    };
    const key = `${r.topic}-${r.partition}`;
    grouped[key] ??= [];
    grouped[key].push(mskRecord);
  }
  return {
    eventSource: 'aws:kafka',
    eventSourceArn:
      source.eventSourceArn ??
      'arn:aws:kafka:us-east-1:123456789012:cluster/orderflow/00000000-0000-0000-0000-000000000000-s1',
    bootstrapServers: source.bootstrapServers,
    records: grouped,
  };
}
