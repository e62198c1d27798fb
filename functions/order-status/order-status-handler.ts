/**
 * order-status over its ports: the env schema and the `createHandler` the Lambda entry (`handler.ts`) and the
 * tests build on. No module-scope side effects.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { isTransient } from '../../shared/errors.js';
import type { OrderflowEvent } from '../../shared/events.js';
import { envSchemaOf } from '../../shared/functions.js';
import { kafkaHandler } from '../../shared/lambda.js';
import { logger, metrics } from '../../shared/observability.js';
import type { KafkaRuntime } from '../../shared/runtime.js';
import { type FunctionName, STATUS_CHANGED_DETAIL_TYPE } from '../../shared/topology.js';
import {
  type BusEntry,
  type BusPublisher,
  type OrderBatchOutcome,
  type OrderStatusPorts,
  type OrderStore,
  trackOrderBatch,
  trackOrderEvent,
} from './order-status.js';

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

/** What the batch step did, for each record's turn: the outcome of every order, and which events it covered. */
interface BatchResult {
  readonly outcomes: ReadonlyMap<string, OrderBatchOutcome>;
  readonly covered: ReadonlySet<OrderflowEvent>;
}

/**
 * The order-status handler over `deps`. The AWS work is done for the whole batch before the records' turns
 * (`trackOrderBatch` in `prepare`: one BatchGetItem, one write per order, one PutEvents per 10 entries of the
 * batch, one clearing write per order that published, the writes grouped by `putMany`); each record's turn then
 * reports its order's outcome, so a failed order fails its own records (batchItemFailures, or the invocation in
 * on-demand mode) and nothing else. An order that failed for a reason no retry fixes (a write DynamoDB refuses as
 * invalid), and an event the batch step did not see, are handled one record at a time as before, so only the
 * record at fault is dead-lettered.
 */
export function createHandler(deps: OrderStatusDeps) {
  const clock = deps.clock ?? (() => new Date());
  const ports: OrderStatusPorts = { store: deps.store, bus: deps.bus, clock };
  return kafkaHandler<BatchResult | undefined>({
    consumer: FUNCTION,
    codec: deps.codec,
    deadLetters: deps.deadLetters,
    prepare: async (events) => {
      try {
        return { outcomes: await trackOrderBatch(events, ports), covered: new Set(events) };
      } catch (error) {
        logger.warn('the batch could not be handled at once; handling its records one by one', { error });
        return undefined;
      }
    },
    handle: async (event, _record, _trace, batch) => {
      const outcome = batch?.covered.has(event) ? batch.outcomes.get(event.orderId) : undefined;
      if (outcome === undefined || (outcome.error !== undefined && !isTransient(outcome.error))) {
        const one = await trackOrderEvent(event, ports);
        report(event, one.applied, one.previousStatus, one.status, one.published);
        return;
      }
      // The order's status change and publications are reported once, in the turn of its last event of the batch;
      // an outbox failure fails that record alone (its redelivery publishes what is pending), a write that did
      // not happen fails every record of the order.
      const last = outcome.events.at(-1) === event;
      if (outcome.error && (last || !outcome.recorded)) throw outcome.error;
      report(
        event,
        outcome.appliedEventIds.has(event.eventId),
        outcome.previousStatus,
        last ? outcome.status : outcome.previousStatus,
        last ? outcome.published : [],
      );
    },
  });
}

function report(
  event: OrderflowEvent,
  applied: boolean,
  previousStatus: string | undefined,
  status: string | undefined,
  published: readonly BusEntry[],
): void {
  if (!applied) logger.info('event already applied', { eventId: event.eventId, type: event.type });
  else if (status !== previousStatus) {
    logger.info('order status changed', { from: previousStatus, to: status, type: event.type });
  }
  for (const { detailType, detail } of published) {
    logger.info('published to the bus', { detailType, transitionId: detail.transitionId });
    metrics.addMetric(
      detailType === STATUS_CHANGED_DETAIL_TYPE ? 'StatusChangesPublished' : 'TransitionsPublished',
      MetricUnit.Count,
      1,
    );
  }
}
