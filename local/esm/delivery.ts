/**
 * The delivery policy of Lambda's Kafka event-source mapping, applied to one partition's records: batching by
 * count and payload size, maximum record age, retries, bisect on error and partial batch responses
 * (https://docs.aws.amazon.com/lambda/latest/dg/kafka-retry-configurations.html). Pure over its ports, so the
 * local runner and the unit tests drive the same code; the runner supplies kafkajs records and commits.
 */

import { randomUUID } from 'node:crypto';
import {
  type DeadLetter,
  type EventSourceFailureCondition,
  eventSourceFailureRecordOf,
  type KafkaBatchResponse,
  type MskEvent,
  type PollerMode,
  type RawKafkaRecord,
  toMskEvent,
} from '../../shared/msk.js';
import type { ConsumerSpec } from '../../shared/topology.js';

/** Lambda's synchronous invocation payload limit. */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** The subset of a consumer spec the policy reads. */
export type DeliveryPolicy = Pick<
  ConsumerSpec,
  'batchSize' | 'retryAttempts' | 'bisectOnError' | 'reportBatchItemFailures' | 'maxRecordAgeSeconds'
>;

/**
 * The policy a mapping in `mode` applies. Retry attempts, maximum record age, bisect on error and partial batch
 * responses are provisioned-mode controls (same doc); an on-demand mapping has none of them, so it runs on the
 * defaults: a failed invocation is retried, whole, until it succeeds (-1: no retry limit, no age limit), and a
 * returned response is success whatever its `batchItemFailures` say.
 */
export function deliveryPolicyOf(spec: DeliveryPolicy, mode: PollerMode): DeliveryPolicy {
  if (mode === 'provisioned') return spec;
  return {
    batchSize: spec.batchSize,
    retryAttempts: -1,
    bisectOnError: false,
    reportBatchItemFailures: false,
    maxRecordAgeSeconds: -1,
  };
}

/** Why records left for the on-failure destination. */
export type FailureCause = 'RECORD_AGE_EXCEEDED' | 'PAYLOAD_TOO_LARGE' | 'RETRIES_EXHAUSTED';

/** What the event source knew when it gave up on records. */
export interface DeliveryFailure {
  readonly cause: FailureCause;
  /** The last invocation's error, or why no invocation was made. */
  readonly error: string;
  /** Invocations the records were part of (0 when none was made). */
  readonly invocations: number;
  /** Whether the last invocation threw (`Unhandled`) rather than returning batch item failures. */
  readonly threw: boolean;
}

/** What the delivery loop needs from its surroundings. */
export interface DeliveryPorts {
  /** Invokes the function; resolves with its response, rejects with its error. */
  invoke(event: MskEvent): Promise<KafkaBatchResponse | undefined | null>;
  /** Sends records that could not be delivered to the on-failure destination. */
  onFailure(records: readonly RawKafkaRecord[], failure: DeliveryFailure): Promise<void>;
  /** Called once records up to and including `offset` are done (processed or sent to the destination). */
  commit(offset: string): Promise<void>;
  /** Waits before a retry. */
  sleep(ms: number): Promise<void>;
  now(): number;
  readonly bootstrapServers: string;
  readonly eventSourceArn: string;
}

/**
 * Thrown by `invoke` when the consumer lost the partition or is stopping: delivery stops at once, nothing is
 * committed or sent to the destination, and the records are delivered again to whoever owns the partition next.
 */
export class DeliveryAbortedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeliveryAbortedError';
  }
}

/** Approximate size of a record inside the JSON event Lambda sends (base64 grows bytes by 4/3). */
export function recordPayloadBytes(record: RawKafkaRecord): number {
  const b64 = (n: number) => Math.ceil(n / 3) * 4;
  let headers = 0;
  for (const [name, value] of Object.entries(record.headers)) headers += name.length + 4 * value.length + 8;
  return b64(record.key?.length ?? 0) + b64(record.value?.length ?? 0) + headers + 200;
}

/** Splits records into invocations of at most `batchSize` records and `maxBytes` of payload. */
export function chunk(
  records: readonly RawKafkaRecord[],
  batchSize: number,
  maxBytes = MAX_PAYLOAD_BYTES,
): RawKafkaRecord[][] {
  const chunks: RawKafkaRecord[][] = [];
  let current: RawKafkaRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = recordPayloadBytes(record);
    if (current.length > 0 && (current.length >= batchSize || bytes + size > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Wait before the `attempt`-th retry (1-based) of a failed batch: 1 s doubling, capped at 10 s, the upper half
 * random (equal jitter), so the partitions of an outage do not retry in lock step. Over the topology's 10 retries
 * that is 37.5 to 75 s, so an outage of a dependency up to 30 s (a Dynoxide or broker restart) is ridden through
 * without dead letters (docs/retry-policy.md).
 */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(1_000 * 2 ** (attempt - 1), 10_000);
  return Math.round(cap / 2 + (random() * cap) / 2);
}

/** The least time `retries` retries wait in all (every jitter at its low end): the policy's outage budget. */
export function minimumRetryWindowMs(retries: number): number {
  let total = 0;
  for (let attempt = 1; attempt <= retries; attempt += 1) total += retryDelayMs(attempt, () => 0);
  return total;
}

/**
 * Delivers one partition's records, in offset order, as Lambda would, and commits after each success.
 * Returns the number of invocations made.
 */
export async function deliverPartition(
  records: readonly RawKafkaRecord[],
  policy: DeliveryPolicy,
  ports: DeliveryPorts,
): Promise<number> {
  let invocations = 0;
  const fresh: RawKafkaRecord[] = [];
  for (const record of records) {
    const ageSeconds = (ports.now() - record.timestamp) / 1000;
    if (policy.maxRecordAgeSeconds >= 0 && ageSeconds > policy.maxRecordAgeSeconds) {
      await flush();
      await ports.onFailure([record], {
        cause: 'RECORD_AGE_EXCEEDED',
        error: `record is ${Math.round(ageSeconds)} s old`,
        invocations: 0,
        threw: false,
      });
      await ports.commit(String(record.offset));
    } else if (recordPayloadBytes(record) > MAX_PAYLOAD_BYTES) {
      await flush();
      await ports.onFailure([record], {
        cause: 'PAYLOAD_TOO_LARGE',
        error: 'record exceeds the 6 MB invocation payload',
        invocations: 0,
        threw: false,
      });
      await ports.commit(String(record.offset));
    } else {
      fresh.push(record);
    }
  }
  await flush();
  return invocations;

  async function flush(): Promise<void> {
    const pending = fresh.splice(0);
    for (const batch of chunk(pending, policy.batchSize)) await deliver(batch, 0);
  }

  async function deliver(batch: readonly RawKafkaRecord[], attemptsSoFar: number): Promise<void> {
    let remaining = batch;
    let attempts = attemptsSoFar;
    while (remaining.length > 0) {
      invocations += 1;
      let failedFrom: number | undefined;
      let error = '';
      let threw = false;
      try {
        const response = await ports.invoke(
          toMskEvent(remaining, { bootstrapServers: ports.bootstrapServers, eventSourceArn: ports.eventSourceArn }),
        );
        failedFrom = policy.reportBatchItemFailures ? firstFailedIndex(remaining, response) : undefined;
        if (failedFrom !== undefined) error = 'the function reported batch item failures';
      } catch (invokeError) {
        if (invokeError instanceof DeliveryAbortedError) throw invokeError;
        error = (invokeError as Error).message ?? String(invokeError);
        threw = true;
        if (policy.bisectOnError && remaining.length > 1) {
          // Lambda splits a failing batch in two and retries each half; the split does not use up a retry.
          const half = Math.ceil(remaining.length / 2);
          await deliver(remaining.slice(0, half), attempts);
          await deliver(remaining.slice(half), attempts);
          return;
        }
        failedFrom = 0;
      }
      if (failedFrom === undefined) {
        await ports.commit(String(remaining.at(-1)?.offset));
        return;
      }
      if (failedFrom > 0) {
        await ports.commit(String(remaining[failedFrom - 1]?.offset));
        remaining = remaining.slice(failedFrom);
      }
      attempts += 1;
      if (policy.retryAttempts >= 0 && attempts > policy.retryAttempts) {
        const failed = remaining.slice(0, 1);
        await ports.onFailure(failed, { cause: 'RETRIES_EXHAUSTED', error, invocations: attempts, threw });
        await ports.commit(String(failed[0]?.offset));
        remaining = remaining.slice(1);
        attempts = 0;
        continue;
      }
      await ports.sleep(retryDelayMs(attempts));
    }
  }
}

/**
 * Index of the first record the response reports as failed, or undefined when all succeeded. An identifier that
 * matches no record of the batch makes the whole batch fail, as Lambda treats malformed responses.
 */
function firstFailedIndex(
  batch: readonly RawKafkaRecord[],
  response: KafkaBatchResponse | undefined | null,
): number | undefined {
  const failures = response?.batchItemFailures ?? [];
  if (failures.length === 0) return undefined;
  let first: number | undefined;
  for (const failure of failures) {
    const id = failure?.itemIdentifier;
    const index = batch.findIndex(
      (r) => `${r.topic}-${r.partition}` === id?.partition && String(r.offset) === String(id?.offset),
    );
    if (index < 0) return 0;
    first = first === undefined ? index : Math.min(first, index);
  }
  return first;
}

/**
 * Lambda's `condition` for each way a record leaves for the destination. A record over the 6 MB payload limit
 * is a guard of the local source that the Lambda doc does not describe; it is labelled as exhausted.
 */
const CONDITIONS: Record<FailureCause, EventSourceFailureCondition> = {
  RETRIES_EXHAUSTED: 'RetriesExhausted',
  RECORD_AGE_EXCEEDED: 'RecordAgeExceeded',
  PAYLOAD_TOO_LARGE: 'RetriesExhausted',
};

/**
 * The records the on-failure destination gets for `records`, one each, exactly as Lambda's Kafka on-failure
 * destination writes them (`eventSourceFailureRecordOf`): key the original key, value the JSON document.
 */
export function destinationRecordsOf(
  records: readonly RawKafkaRecord[],
  failure: DeliveryFailure,
  source: { functionName: string; bootstrapServers: string; eventSourceArn: string; failedAt: Date },
): DeadLetter[] {
  return records.map((record) =>
    eventSourceFailureRecordOf(record, {
      condition: CONDITIONS[failure.cause],
      requestId: randomUUID(),
      functionArn: `arn:aws:lambda:us-east-1:000000000000:function:${source.functionName}:$LATEST`,
      approximateInvokeCount: failure.invocations,
      functionError: failure.threw ? 'Unhandled' : '',
      bootstrapServers: source.bootstrapServers,
      eventSourceArn: source.eventSourceArn,
      failedAt: source.failedAt,
    }),
  );
}
