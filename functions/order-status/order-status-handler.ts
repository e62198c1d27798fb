/**
 * order-status over its ports: the env schema and the `createHandler` the Lambda entry (`handler.ts`) and the
 * tests build on. No module-scope side effects.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { envSchemaOf } from '../../shared/functions.js';
import { kafkaHandler } from '../../shared/lambda.js';
import { logger, metrics } from '../../shared/observability.js';
import type { KafkaRuntime } from '../../shared/runtime.js';
import { type FunctionName, STATUS_CHANGED_DETAIL_TYPE } from '../../shared/topology.js';
import { type BusPublisher, type OrderStore, prefetchedStore, trackOrderEvent } from './order-status.js';

const FUNCTION: FunctionName = 'order-status';

/** Environment of order-status, from its contract: the Kafka variables plus its table and the bus. */
export const orderStatusEnv = envSchemaOf('order-status');

/** What `createHandler` needs: the Kafka side and the two ports. */
export interface OrderStatusDeps extends Pick<KafkaRuntime, 'codec' | 'deadLetters'> {
  readonly store: OrderStore;
  readonly bus: BusPublisher;
  /** @default - the system clock */
  readonly clock?: () => Date;
}

/** The order-status handler over `deps`; tests pass mocked clients and an in-memory Kafka. */
export function createHandler(deps: OrderStatusDeps) {
  const clock = deps.clock ?? (() => new Date());
  return kafkaHandler({
    consumer: FUNCTION,
    codec: deps.codec,
    deadLetters: deps.deadLetters,
    // One consistent BatchGetItem for the orders of the batch instead of a GetItem per record.
    prepare: async (events) => {
      try {
        return await prefetchedStore(
          deps.store,
          events.map((e) => e.orderId),
        );
      } catch (error) {
        logger.warn('orders of the batch could not be read up front; reading them one by one', { error });
        return deps.store;
      }
    },
    handle: async (event, _record, _trace, store) => {
      const outcome = await trackOrderEvent(event, { store, bus: deps.bus, clock });
      if (!outcome.applied) logger.info('event already applied', { eventId: event.eventId, type: event.type });
      else if (outcome.status !== outcome.previousStatus) {
        logger.info('order status changed', { from: outcome.previousStatus, to: outcome.status, type: event.type });
      }
      for (const { detailType, detail } of outcome.published) {
        logger.info('published to the bus', { detailType, transitionId: detail.transitionId });
        metrics.addMetric(
          detailType === STATUS_CHANGED_DETAIL_TYPE ? 'StatusChangesPublished' : 'TransitionsPublished',
          MetricUnit.Count,
          1,
        );
      }
    },
  });
}
