/**
 * Wiring shared by every Kafka-fed function: the middy chain (Powertools logger, metrics, tracer), per-record
 * decoding with orderId and correlation id on every log line, dead letters and the partial batch response.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { type EncodeContext, type EventCodec, HEADERS } from './codec.js';
import { loadConfig, pollerEnv } from './config.js';
import type { OrderflowEvent } from './events.js';
import { producingFor, withInvocationOutbox } from './invocation-outbox.js';
import {
  BatchRetryError,
  type BatchSummary,
  type DeadLetterSink,
  type KafkaBatchResponse,
  type KafkaRecord,
  type MskEvent,
  type PollerMode,
  processKafkaBatch,
  recordsOf,
} from './msk.js';
import {
  logger,
  metrics,
  reportStepOutcome,
  type StepOutcome,
  setRecordLogKeys,
  traceInvocations,
  withRecordLogKeys,
} from './observability.js';

/**
 * What a Kafka-fed function plugs into `kafkaHandler`. `Batch` is what `prepare` reads for a whole invocation
 * (undefined without `prepare`).
 */
export interface KafkaHandlerOptions<Batch = undefined> {
  /** Function name: the `dlq-consumer` header and the metrics' service. */
  readonly consumer: string;
  readonly codec: EventCodec;
  readonly deadLetters: DeadLetterSink;
  /**
   * Runs once per invocation, before the first `handle`, with every event of the batch that decodes: where a
   * function reads in one call what its records would otherwise read one by one (a BatchGetItem of their keys).
   * Its result reaches each `handle` of the batch. It must not fail the batch for a read it can do without:
   * return what it has and let `handle` read the rest. An error it throws fails the whole invocation (retried).
   * @default - no batch step; `handle` gets undefined
   */
  readonly prepare?: (events: readonly OrderflowEvent[]) => Promise<Batch>;
  /**
   * Handles one decoded event; throw `PermanentError` to dead-letter the record, anything else to retry it.
   * `trace` carries the record's `traceparent`, to pass on to the events it produces; `batch` is what `prepare`
   * returned for this invocation.
   */
  readonly handle: (event: OrderflowEvent, record: KafkaRecord, trace: EncodeContext, batch: Batch) => Promise<void>;
  /**
   * The mapping's poller mode: in `on-demand` mode a transient failure fails the invocation (Lambda retries the
   * whole batch) instead of being reported in `batchItemFailures`, which only provisioned mode honours.
   * @default - `POLLER_MODE` from the environment at cold start for `kafkaHandler`, else `provisioned`
   */
  readonly pollerMode?: PollerMode;
}

/**
 * The Lambda handler of a Kafka-fed function: decodes each record, hands it to `handle` in partition order and
 * returns the partial batch response (provisioned mode) or throws on a transient failure (on-demand mode, read
 * from `POLLER_MODE` once, when the handler is built at cold start).
 *
 * @example
 * export const handler = kafkaHandler({ consumer: 'validate-order', codec, deadLetters, handle });
 */
export function kafkaHandler<Batch = undefined>(options: KafkaHandlerOptions<Batch>) {
  const pollerMode = options.pollerMode ?? loadConfig(pollerEnv).POLLER_MODE;
  return middy<MskEvent, KafkaBatchResponse, Error, Context>({ timeoutEarlyInMillis: 0 })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .use(traceInvocations)
    .handler((event) => handleKafkaBatch(event, { ...options, pollerMode }));
}

/** What `sagaStepHandler` needs besides the Kafka ports. */
export interface SagaStepOptions<Batch = undefined>
  extends Pick<KafkaHandlerOptions<Batch>, 'consumer' | 'codec' | 'deadLetters'> {
  /**
   * Reads ahead for the whole batch (one BatchGetItem instead of a read per record). A read-ahead only saves calls:
   * when it fails, the batch goes on with `otherwise` (each record reading for itself) and a warning is logged.
   */
  readonly readAhead?: {
    readonly read: (events: readonly OrderflowEvent[]) => Promise<Batch>;
    readonly otherwise: Batch;
  };
  /** What the step decides, in its log lines: `'payment'` logs `payment changed`. */
  readonly subject: string;
  /** Prefix of the count of each change: `'Payments'` counts `PaymentsCharged`. */
  readonly metricPrefix: string;
  /**
   * Decides one event; `trace` is the record's trace context, for the events it produces; `batch` is what
   * `prepare` returned for this invocation.
   */
  readonly step: (event: OrderflowEvent, trace: EncodeContext, batch: Batch) => Promise<StepOutcome>;
}

/**
 * The handler of a saga step (process-payment, reserve-inventory): `kafkaHandler` over `step`, whose outcome is
 * logged and counted by `reportStepOutcome`.
 *
 * @example
 * export const handler = sagaStepHandler({ consumer: 'process-payment', codec, deadLetters, subject: 'payment',
 *   metricPrefix: 'Payments', step: (event, trace) => handlePaymentEvent(event, ports, trace) });
 */
export function sagaStepHandler<Batch = undefined>(options: SagaStepOptions<Batch>) {
  const { consumer, codec, deadLetters, readAhead, subject, metricPrefix, step } = options;
  const prepare = readAhead
    ? async (events: readonly OrderflowEvent[]): Promise<Batch> => {
        try {
          return await readAhead.read(events);
        } catch (error) {
          logger.warn(`the ${subject} records of the batch could not be read up front; reading them one by one`, {
            error,
          });
          return readAhead.otherwise;
        }
      }
    : undefined;
  return kafkaHandler<Batch>({
    consumer,
    codec,
    deadLetters,
    ...(prepare ? { prepare } : {}),
    handle: async (event, _record, trace, batch) =>
      reportStepOutcome(subject, metricPrefix, event.type, await step(event, trace, batch)),
  });
}

/** The trace context of a record without a `traceparent` header. */
const NO_TRACE: EncodeContext = Object.freeze({});

/** The batch loop behind `kafkaHandler`, without middy: what the local runner and benchmarks call. */
export async function handleKafkaBatch<Batch = undefined>(
  event: MskEvent,
  options: KafkaHandlerOptions<Batch>,
): Promise<KafkaBatchResponse> {
  const { codec, handle, prepare } = options;
  const records = recordsOf(event);
  // With `prepare`, each record is decoded up front so that it sees the batch. A record that did not decode is
  // decoded again in its turn below, so it fails (dead letter or retry) with its own error, as it did before
  // `prepare`. Without it, each record is decoded once, in its turn.
  const decoded = prepare ? await decodedUpFront(codec, records) : undefined;
  const batch = (prepare && decoded ? await prepare([...decoded.values()]) : undefined) as Batch;
  const pollerMode = options.pollerMode ?? 'provisioned';
  // The record keys end with `run`, before the batch's output is produced: a failed produce is the batch's.
  const run = () =>
    withRecordLogKeys(() =>
      processKafkaBatch(records, {
        consumer: options.consumer,
        deadLetters: options.deadLetters,
        logger,
        pollerMode,
        process: async (record) => {
          producingFor(record);
          // Each record's keys replace the previous record's, and are cleared when it fails: the batch loop logs
          // the failure with the record's coordinates, not the keys of what it was handling.
          try {
            const orderEvent = decoded?.get(record) ?? (await codec.decode(record.value, record));
            setRecordLogKeys({ orderId: orderEvent.orderId, correlationId: orderEvent.correlationId });
            const traceparent = record.headers[HEADERS.TRACEPARENT];
            await handle(orderEvent, record, traceparent ? { traceparent } : NO_TRACE, batch);
          } catch (error) {
            setRecordLogKeys(undefined);
            throw error;
          }
        },
      }),
    );
  try {
    // One produce for the whole batch's output, at its end (shared/invocation-outbox.ts).
    const { response, summary } = await withInvocationOutbox(run, { records, pollerMode, logger });
    addBatchMetrics(summary);
    return response;
  } catch (error) {
    if (error instanceof BatchRetryError) addBatchMetrics(error.summary);
    throw error;
  }
}

function addBatchMetrics(summary: BatchSummary): void {
  metrics.addMetric('RecordsProcessed', MetricUnit.Count, summary.processed);
  metrics.addMetric('RecordsDeadLettered', MetricUnit.Count, summary.deadLettered);
  metrics.addMetric('RecordsRetried', MetricUnit.Count, summary.failed + summary.skipped);
}

/** The events of `records` that decode, by record, in batch order. */
async function decodedUpFront(
  codec: EventCodec,
  records: readonly KafkaRecord[],
): Promise<Map<KafkaRecord, OrderflowEvent>> {
  const settled = await Promise.allSettled(records.map((record) => codec.decode(record.value, record)));
  const events = new Map<KafkaRecord, OrderflowEvent>();
  for (const [index, result] of settled.entries()) {
    if (result.status === 'fulfilled') events.set(records[index] as KafkaRecord, result.value);
  }
  return events;
}
