/**
 * Lambda's Kafka event (MSK and self-managed) in, per-record outcomes out.
 *
 * Event shape: https://docs.aws.amazon.com/lambda/latest/dg/with-msk.html — `records` keyed by
 * `topic-partition`, base64 `key` and `value` (absent for a null key and for a tombstone), headers as a list
 * of one-entry objects mapping the header name to its bytes as numbers.
 */

import type { RecordRef } from './codec.js';
import type { DlqReason } from './errors.js';
import { asPermanent, isTransient, TransientError } from './errors.js';

/**
 * How the event-source mapping polls. Only `provisioned` mode honours `ReportBatchItemFailures` (it is one of
 * the provisioned-mode error handling controls,
 * https://docs.aws.amazon.com/lambda/latest/dg/kafka-retry-configurations.html); in `on-demand` mode Lambda
 * commits a batch whose invocation returned, whatever the response says, and retries it only when the
 * invocation fails.
 */
export type PollerMode = 'provisioned' | 'on-demand';

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
  /**
   * `on-demand` throws `BatchRetryError` at the first transient failure instead of returning it in
   * `batchItemFailures`, which Lambda would ignore there (and commit the failed record).
   * @default 'provisioned'
   */
  readonly pollerMode?: PollerMode;
}

/**
 * Thrown in on-demand mode when a record failed transiently: the invocation fails, so Lambda retries the whole
 * batch. The records processed before it run again, which is safe because every effect is idempotent; a record
 * dead-lettered before it is dead-lettered again (the letters are identical but for `dlq-failed-at`).
 */
export class BatchRetryError extends TransientError {
  constructor(
    readonly record: RecordRef,
    readonly summary: BatchSummary,
    options?: ErrorOptions,
  ) {
    super(
      `record ${record.topic}-${record.partition}@${record.offset} failed; failing the invocation so the batch is retried`,
      options,
    );
  }
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
 *   same partition is attempted, so the event source retries the partition from that record, in order. In
 *   on-demand mode, where Lambda ignores `batchItemFailures`, it throws `BatchRetryError` instead, at once.
 * - A dead letter that cannot be written is treated as a transient failure of its record: nothing is lost.
 *
 * @example
 * export const handler = async (event: MskEvent) =>
 *   (await processKafkaBatch(event, { consumer: 'validate-order', process, deadLetters, logger })).response;
 */
export async function processKafkaBatch(
  event: MskEvent | readonly KafkaRecord[],
  options: ProcessBatchOptions,
): Promise<{ response: KafkaBatchResponse; summary: BatchSummary }> {
  const now = options.now ?? (() => new Date());
  const onDemand = options.pollerMode === 'on-demand';
  const failures: KafkaBatchItemFailure[] = [];
  const blocked = new Set<string>();
  let processed = 0;
  let deadLettered = 0;
  let skipped = 0;
  // Callers that already decoded the event's records (`handleKafkaBatch`) pass them, so that happens once.
  const records = isRecordList(event) ? event : recordsOf(event);
  for (const [index, record] of records.entries()) {
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
      let cause: unknown = error;
      if (!isTransient(error)) {
        const permanent = asPermanent(error);
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
          cause = dlqError;
          options.logger.error('dead letter could not be written; retrying the record', {
            ...refOf(record),
            error: dlqError,
          });
        }
      } else {
        options.logger.error('record failed; the event source will retry it', { ...refOf(record), error });
      }
      if (onDemand) {
        throw new BatchRetryError(
          refOf(record),
          { processed, deadLettered, failed: 1, skipped: skipped + records.length - index - 1 },
          { cause },
        );
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

function isRecordList(event: MskEvent | readonly KafkaRecord[]): event is readonly KafkaRecord[] {
  return Array.isArray(event);
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

/**
 * Why Lambda's event source gave up on a record. `RetriesExhausted` is the doc's example; `RecordAgeExceeded`
 * is the condition Lambda's other stream destinations use for `MaximumRecordAgeInSeconds` (the Kafka doc shows
 * no example of it), and the parser accepts any string.
 */
export type EventSourceFailureCondition = 'RetriesExhausted' | 'RecordAgeExceeded';

/**
 * The record Lambda's Kafka on-failure destination writes (provisioned mode) when retries are exhausted or a
 * record is too old: failure metadata plus the failed record as Lambda delivered it, as JSON in the value, the
 * original key as the key. https://docs.aws.amazon.com/lambda/latest/dg/kafka-on-failure-destination.html#kafka-ofd-record-format
 */
export interface EventSourceFailureRecord {
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: string;
    readonly approximateInvokeCount: number;
  };
  readonly responseContext: {
    readonly statusCode: number;
    readonly executedVersion: string;
    readonly functionError: string;
  };
  readonly version: string;
  readonly timestamp: string;
  readonly KafkaBatchInfo: {
    readonly batchSize: number;
    readonly eventSourceArn: string;
    readonly bootstrapServers: string;
    readonly payloadSize: number;
    readonly recordInfo: { readonly offset: string; readonly timestamp: string };
  };
  readonly payload: MskEvent;
}

/** What the event source knows when it gives up on a record. */
export interface EventSourceFailure {
  readonly condition: EventSourceFailureCondition;
  readonly requestId: string;
  /** The function's ARN, qualified as Lambda writes it (`...:function:<name>:$LATEST`). */
  readonly functionArn: string;
  /** Invocations made with the record (0 when it was too old to be sent). */
  readonly approximateInvokeCount: number;
  /** `Unhandled` when the last invocation threw; empty when the function returned (partial batch failure). */
  readonly functionError: string;
  readonly bootstrapServers: string;
  readonly eventSourceArn: string;
  readonly failedAt: Date;
}

/**
 * The on-failure destination record Lambda writes for `record`, ready to produce: key as the original key (so it
 * lands on the same partition key), value the JSON document.
 *
 * @example
 * producer.send([{ topic: 'orders.dlq', ...eventSourceFailureRecordOf(record, failure) }]);
 */
export function eventSourceFailureRecordOf(record: RawKafkaRecord, failure: EventSourceFailure): DeadLetter {
  const payload = toMskEvent([record], {
    bootstrapServers: failure.bootstrapServers,
    eventSourceArn: failure.eventSourceArn,
  });
  const body: EventSourceFailureRecord = {
    requestContext: {
      requestId: failure.requestId,
      functionArn: failure.functionArn,
      condition: failure.condition,
      approximateInvokeCount: failure.approximateInvokeCount,
    },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: failure.functionError },
    version: '1.0',
    timestamp: failure.failedAt.toISOString(),
    KafkaBatchInfo: {
      batchSize: 1,
      eventSourceArn: failure.eventSourceArn,
      bootstrapServers: failure.bootstrapServers,
      payloadSize: Buffer.byteLength(JSON.stringify(payload)),
      recordInfo: { offset: String(record.offset), timestamp: new Date(record.timestamp).toISOString() },
    },
    payload,
  };
  return { key: record.key, value: Buffer.from(JSON.stringify(body)), headers: {} };
}

/** A record read from the dead-letter topic. */
export interface DeadLetterMessage {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * A dead letter of either kind, read back: `handler` for the letters `processKafkaBatch` writes (original bytes
 * plus `dlq-*` headers), `event-source` for Lambda's on-failure destination records, `unknown` for anything else.
 * `records` are the original records, with their own key, value and headers, to redrive.
 */
export type ParsedDeadLetter =
  | {
      readonly kind: 'handler' | 'event-source';
      /** Function that gave up: the `dlq-consumer` header, or the function name in `functionArn`. */
      readonly functionName: string;
      /** `dlq-reason`, or Lambda's `condition`. */
      readonly reason: string;
      /** `dlq-error`, or Lambda's `functionError` and invoke count. */
      readonly detail: string;
      readonly failedAt: string;
      readonly records: readonly KafkaRecord[];
    }
  | { readonly kind: 'unknown'; readonly problem: string };

/**
 * Reads a record of the dead-letter topic as one of the two formats it holds.
 *
 * @example
 * const letter = parseDeadLetter({ key: m.key, value: m.value, headers });
 * if (letter.kind !== 'unknown') for (const r of letter.records) republish(r);
 */
export function parseDeadLetter(message: DeadLetterMessage): ParsedDeadLetter {
  const { headers } = message;
  if (headers['dlq-reason'] !== undefined) {
    const partition = Number(headers['dlq-source-partition']);
    const original: KafkaRecord = {
      topic: headers['dlq-source-topic'] ?? '',
      partition: Number.isInteger(partition) ? partition : -1,
      offset: headers['dlq-source-offset'] ?? '',
      timestamp: Date.parse(headers['dlq-failed-at'] ?? '') || 0,
      key: message.key,
      value: message.value,
      headers: Object.fromEntries(Object.entries(headers).filter(([name]) => !name.startsWith('dlq-'))),
    };
    return {
      kind: 'handler',
      functionName: headers['dlq-consumer'] ?? '',
      reason: headers['dlq-reason'],
      detail: headers['dlq-error'] ?? '',
      failedAt: headers['dlq-failed-at'] ?? '',
      records: [original],
    };
  }
  let body: Partial<EventSourceFailureRecord>;
  try {
    body = JSON.parse(message.value?.toString('utf8') ?? '') as Partial<EventSourceFailureRecord>;
  } catch {
    return { kind: 'unknown', problem: 'no dlq-reason header and the value is not JSON' };
  }
  const context = body?.requestContext;
  const records = body?.payload?.records;
  if (!context || typeof context.functionArn !== 'string' || !records || typeof records !== 'object') {
    return { kind: 'unknown', problem: 'no dlq-reason header and no requestContext/payload.records in the value' };
  }
  const error = body.responseContext?.functionError;
  return {
    kind: 'event-source',
    functionName: functionNameOf(context.functionArn),
    reason: String(context.condition ?? ''),
    detail: `${error ? `functionError ${error}, ` : ''}${context.approximateInvokeCount ?? '?'} invocation(s)`,
    failedAt: String(body.timestamp ?? ''),
    records: recordsOf(body.payload as MskEvent),
  };
}

/** `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]` to `<name>`. */
export function functionNameOf(functionArn: string): string {
  return functionArn.split(':')[6] ?? functionArn;
}
