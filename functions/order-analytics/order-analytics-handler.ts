/**
 * order-analytics over its ports: the env schema, the EMF metrics port and the `createHandler` the Lambda entry
 * (`handler.ts`) and the tests build on. No module-scope side effects.
 */
import { envSchemaOf } from '../../shared/functions.js';
import { kafkaHandler } from '../../shared/lambda.js';
import { logger } from '../../shared/observability.js';
import type { KafkaRuntime } from '../../shared/runtime.js';
import type { FunctionName } from '../../shared/topology.js';
import { emfOrderMetrics } from './emf-metrics.js';
import {
  type AnalyticsOutcome,
  type AnalyticsStore,
  type OrderMetrics,
  recordOrderAnalytics,
  recordOrderBatch,
} from './order-analytics.js';

const FUNCTION: FunctionName = 'order-analytics';

/** Environment of order-analytics, from its contract: the Kafka variables plus the analytics table. */
export const orderAnalyticsEnv = envSchemaOf('order-analytics');

/** What `createHandler` needs; tests pass an in-memory Kafka and a store over a mocked document client. */
export interface OrderAnalyticsDeps extends Pick<KafkaRuntime, 'codec' | 'deadLetters'> {
  readonly store: AnalyticsStore;
  /** @default - EMF through the shared Powertools `metrics` */
  readonly metrics?: OrderMetrics;
}

/**
 * The order-analytics handler over `deps`: the batch's orders counted together in `prepare` (one transaction per
 * ~90 orders instead of one per order); each record's turn reports its order's result, emits its metrics once
 * counted, and fails alone when its order could not be counted. An event the batch step left out is counted in
 * its own turn, as before.
 */
export function createHandler(deps: OrderAnalyticsDeps) {
  const ports = { store: deps.store, metrics: deps.metrics ?? emfOrderMetrics() };
  return kafkaHandler<Map<unknown, AnalyticsOutcome | Error> | undefined>({
    consumer: FUNCTION,
    codec: deps.codec,
    deadLetters: deps.deadLetters,
    prepare: async (events) => {
      try {
        return await recordOrderBatch(events, ports.store);
      } catch (error) {
        logger.warn('the batch could not be counted at once; counting its records one by one', { error });
        return undefined;
      }
    },
    handle: async (event, _record, _trace, batch) => {
      const counted = batch?.get(event);
      if (counted instanceof Error) throw counted;
      if (counted?.outcome === 'COUNTED') ports.metrics.orderCounted(counted.count);
      const result = counted ?? (await recordOrderAnalytics(event, ports));
      switch (result.outcome) {
        case 'IGNORED':
          logger.debug('event type not counted; ignored', { type: result.type });
          return;
        case 'ALREADY_COUNTED':
          logger.info('order already counted; replay ignored', { minute: result.count.minute });
          return;
        case 'COUNTED':
          logger.info('order counted', {
            minute: result.count.minute,
            currency: result.count.currency,
            revenueCents: result.count.revenueCents,
          });
          return;
      }
    },
  });
}
