/**
 * live-notifier over its ports: the env schema and the `createHandler` the Lambda entry (`handler.ts`) and the
 * tests build on. No module-scope side effects.
 */

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import type { ConnectionSender } from '../../shared/connection-sender.js';
import { envSchemaOf } from '../../shared/functions.js';
import type { LiveConnectionsStore } from '../../shared/live-connections-store.js';
import { logger, metrics, traceInvocations } from '../../shared/observability.js';
import type { BusDetailType } from '../../shared/topology.js';
import { type NotifySummary, notifySubscribers, parseStatusChangedEvent, UndeliveredError } from './live-notifier.js';

/** Environment of live-notifier: the subscriptions table and where messages are posted. */
export const liveNotifierEnv = envSchemaOf('live-notifier');

/** What `createHandler` needs. */
export interface LiveNotifierDeps {
  readonly connections: LiveConnectionsStore;
  readonly sender: ConnectionSender;
  /** @default - wall clock */
  readonly clock?: () => number;
  /** Posts in flight at once. @default POST_CONCURRENCY */
  readonly concurrency?: number;
}

/** Adds one fan-out's counts to the invocation's metrics (zeros included, so every invocation flushes). */
function recordMetrics(summary: NotifySummary): void {
  metrics.addMetric('LiveMessagesDelivered', MetricUnit.Count, summary.delivered);
  metrics.addMetric('LiveConnectionsGone', MetricUnit.Count, summary.gone);
  metrics.addMetric('LivePostsFailed', MetricUnit.Count, summary.failed);
}

/**
 * The live-notifier handler over `deps`: one OrderStatusChanged event per invocation, as EventBridge delivers to
 * a Lambda target. A malformed event throws `ValidationError` (retries cannot help: it ends in the function's
 * on-failure destination); a failed post throws `TransientError` so the event is delivered again.
 */
export function createHandler(deps: LiveNotifierDeps) {
  const ports = { ...deps, clock: deps.clock ?? Date.now };
  return middy<EventBridgeEvent<BusDetailType, unknown>, NotifySummary, Error, Context>({ timeoutEarlyInMillis: 0 })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .use(traceInvocations)
    .handler(async (event) => {
      logger.appendKeys({ eventId: event.id });
      const detail = parseStatusChangedEvent(event);
      logger.appendKeys({
        orderId: detail.orderId,
        transitionId: detail.transitionId,
        correlationId: detail.correlationId,
      });
      try {
        const summary = await notifySubscribers(detail, ports);
        recordMetrics(summary);
        logger.info('status change pushed', { ...summary });
        return summary;
      } catch (error) {
        if (error instanceof UndeliveredError) {
          recordMetrics(error.summary);
          logger.error('status change not pushed to every subscriber; the event will be retried', {
            ...error.summary,
            error,
          });
        }
        throw error;
      }
    });
}
