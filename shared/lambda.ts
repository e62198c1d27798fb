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
import type { OrderflowEvent } from './events.js';
import {
  type DeadLetterSink,
  type KafkaBatchResponse,
  type KafkaRecord,
  type MskEvent,
  processKafkaBatch,
} from './msk.js';
import { logger, metrics, traceInvocations } from './observability.js';

/** What a Kafka-fed function plugs into `kafkaHandler`. */
export interface KafkaHandlerOptions {
  /** Function name: the `dlq-consumer` header and the metrics' service. */
  readonly consumer: string;
  readonly codec: EventCodec;
  readonly deadLetters: DeadLetterSink;
  /**
   * Handles one decoded event; throw `PermanentError` to dead-letter the record, anything else to retry it.
   * `trace` carries the record's `traceparent`, to pass on to the events it produces.
   */
  readonly handle: (event: OrderflowEvent, record: KafkaRecord, trace: EncodeContext) => Promise<void>;
}

/**
 * The Lambda handler of a Kafka-fed function: decodes each record, hands it to `handle` in partition order and
 * returns the partial batch response.
 *
 * @example
 * export const handler = kafkaHandler({ consumer: 'validate-order', codec, deadLetters, handle });
 */
export function kafkaHandler(options: KafkaHandlerOptions) {
  return middy<MskEvent, KafkaBatchResponse, Error, Context>({ timeoutEarlyInMillis: 0 })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .use(traceInvocations)
    .handler((event) => handleKafkaBatch(event, options));
}

/** The batch loop behind `kafkaHandler`, without middy: what the local runner and benchmarks call. */
export async function handleKafkaBatch(event: MskEvent, options: KafkaHandlerOptions): Promise<KafkaBatchResponse> {
  const { response, summary } = await processKafkaBatch(event, {
    consumer: options.consumer,
    deadLetters: options.deadLetters,
    logger,
    process: async (record) => {
      const decoded = await options.codec.decode(record.value, record);
      logger.appendKeys({ orderId: decoded.orderId, correlationId: decoded.correlationId });
      try {
        const traceparent = record.headers[HEADERS.TRACEPARENT];
        await options.handle(decoded, record, traceparent ? { traceparent } : {});
      } finally {
        logger.removeKeys(['orderId', 'correlationId']);
      }
    },
  });
  metrics.addMetric('RecordsProcessed', MetricUnit.Count, summary.processed);
  metrics.addMetric('RecordsDeadLettered', MetricUnit.Count, summary.deadLettered);
  metrics.addMetric('RecordsRetried', MetricUnit.Count, summary.failed + summary.skipped);
  return response;
}
