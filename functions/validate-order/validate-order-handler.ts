/**
 * validate-order over its ports: the env schema and the `createHandler` the Lambda entry (`handler.ts`) and the
 * tests build on. No module-scope side effects.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { envSchemaOf } from '../../shared/functions.js';
import { kafkaHandler } from '../../shared/lambda.js';
import { logger, metrics } from '../../shared/observability.js';
import type { KafkaRuntime } from '../../shared/runtime.js';
import { type Catalog, CONSUMER, catalogKeysOf, validateOrder } from './validate-order.js';

/** Environment of validate-order, from its contract: the Kafka variables plus the catalog table. */
export const validateOrderEnv = envSchemaOf('validate-order');

/** What `createHandler` needs; tests pass an in-memory Kafka and a catalog over a mocked document client. */
export interface ValidateOrderDeps extends Pick<KafkaRuntime, 'codec' | 'deadLetters' | 'publisher'> {
  readonly catalog: Catalog;
  /** Epoch milliseconds. @default - the system clock */
  readonly clock?: () => number;
}

/** The validate-order handler over `deps`. */
export function createHandler(deps: ValidateOrderDeps) {
  const ports = { catalog: deps.catalog, publisher: deps.publisher, clock: deps.clock ?? Date.now };
  return kafkaHandler({
    consumer: CONSUMER,
    codec: deps.codec,
    deadLetters: deps.deadLetters,
    // The SKUs and customers of the whole batch in one BatchGetItem, instead of two per record.
    prepare: async (events) => {
      const { skus, customerIds } = catalogKeysOf(events);
      try {
        return (await deps.catalog.preload?.(skus, customerIds)) ?? deps.catalog;
      } catch (error) {
        logger.warn('catalog of the batch could not be read up front; reading it per record', { error });
        return deps.catalog;
      }
    },
    handle: async (event, _record, trace, catalog) => {
      const result = await validateOrder(event, { ...ports, catalog }, trace);
      switch (result.outcome) {
        case 'IGNORED':
          logger.debug('event type not handled; ignored', { type: result.type });
          return;
        case 'OrderValidated':
          logger.info('order validated', { totalCents: result.event.totalCents, currency: result.event.currency });
          metrics.addMetric('OrdersValidated', MetricUnit.Count, 1);
          return;
        case 'OrderRejected':
          logger.info('order rejected', { reason: result.event.reason, detail: result.event.detail });
          metrics.addMetric('OrdersRejected', MetricUnit.Count, 1);
          return;
      }
    },
  });
}
