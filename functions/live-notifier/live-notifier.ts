/**
 * live-notifier: pushes each OrderStatusChanged event to the WebSocket connections subscribed to that order or to
 * every order (`*`). The subscriptions and the connections are ports (`LiveConnectionsStore`, `ConnectionSender`).
 *
 * Delivery is at least once. When a post fails for good (throttled or 5xx after the SDK's retries), the
 * invocation fails with `TransientError` once every other connection has been tried, and the event is delivered
 * again (EventBridge invokes the function asynchronously, so Lambda's asynchronous retries redeliver it, then its
 * on-failure destination keeps it; see `catchAsyncFailures` in infra/constructs/order-fanout.ts): the connections
 * that got the message the first time get it again. Clients dedupe on orderId + status (an order enters each
 * status at most once).
 */
import { type OrderStatusChangedDetail, orderStatusChangedDetail } from '../../shared/bus.js';
import { settleAll } from '../../shared/concurrency.js';
import type { ConnectionSender } from '../../shared/connection-sender.js';
import { TransientError, ValidationError } from '../../shared/errors.js';
import type { LiveConnectionsStore } from '../../shared/live-connections-store.js';
import { ALL_ORDERS, type OrderStatusMessage } from '../../shared/live-protocol.js';
import { logger } from '../../shared/observability.js';
import { STATUS_CHANGED_DETAIL_TYPE } from '../../shared/topology.js';

/**
 * Posts in flight at once: parallel enough that hundreds of subscribers are reached within a second or two, few
 * enough to stay clear of the Management API's throttling.
 */
export const POST_CONCURRENCY = 10;

/** The part of an EventBridge event this function reads. */
export interface StatusChangedEnvelope {
  readonly 'detail-type': string;
  readonly detail: unknown;
}

/** The ports and settings `notifySubscribers` runs with. */
export interface NotifierPorts {
  readonly connections: LiveConnectionsStore;
  readonly sender: ConnectionSender;
  /** Epoch milliseconds. */
  readonly clock: () => number;
  /** @default POST_CONCURRENCY */
  readonly concurrency?: number;
}

/** What one event's fan-out did, per connection. */
export interface NotifySummary {
  /** Connections the message was posted to. */
  readonly delivered: number;
  /** Connections API Gateway said were closed; they were forgotten. */
  readonly gone: number;
  /** Connections the post failed for, after the SDK's retries. */
  readonly failed: number;
}

/** Some posts failed for good: the event must be delivered again. Carries the summary of this attempt. */
export class UndeliveredError extends TransientError {
  constructor(
    readonly summary: NotifySummary,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Validates an EventBridge event against the bus contract. Throws `ValidationError` naming the bad fields: no
 * retry can fix the event, which ends in the function's on-failure destination, as a bad event for
 * send-order-email does.
 */
export function parseStatusChangedEvent(event: StatusChangedEnvelope): OrderStatusChangedDetail {
  const detailType = event['detail-type'];
  if (detailType !== STATUS_CHANGED_DETAIL_TYPE) {
    throw new ValidationError(`unexpected detail-type "${detailType}": expected ${STATUS_CHANGED_DETAIL_TYPE}`);
  }
  const parsed = orderStatusChangedDetail.safeParse(event.detail);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'detail'}: ${issue.message}`);
    throw new ValidationError(`invalid ${detailType} detail: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/** The `order.status` message of a transition; `at` is when the transition happened, not when it is pushed. */
export function statusMessageOf(detail: OrderStatusChangedDetail): OrderStatusMessage {
  return {
    type: 'order.status',
    orderId: detail.orderId,
    status: detail.status,
    ...(detail.reason === undefined ? {} : { reason: detail.reason }),
    at: detail.occurredAt,
  };
}

/**
 * Posts the transition to every subscriber of its order and of `*` (once each, even when subscribed to both),
 * forgets the connections that are gone, and throws `UndeliveredError` when any post failed, after all were tried.
 * Forgetting a gone connection is best effort: a failure is logged and left to the next event or to the TTL,
 * rather than redelivering the event to everyone.
 */
export async function notifySubscribers(
  detail: OrderStatusChangedDetail,
  ports: NotifierPorts,
): Promise<NotifySummary> {
  const subscribers = await ports.connections.subscribersOf([detail.orderId, ALL_ORDERS]);
  const message = statusMessageOf(detail);
  const connectionIds = [...subscribers.keys()];
  const outcomes = await settleAll(connectionIds, ports.concurrency ?? POST_CONCURRENCY, async (connectionId) => {
    const outcome = await ports.sender.send(connectionId, message);
    if (outcome === 'gone') await forget(connectionId, subscribers.get(connectionId) ?? [], ports);
    return outcome;
  });

  const failures = outcomes.flatMap((o, i) =>
    o.status === 'rejected' ? [{ connectionId: connectionIds[i], error: o.reason }] : [],
  );
  const summary: NotifySummary = {
    delivered: outcomes.filter((o) => o.status === 'fulfilled' && o.value === 'sent').length,
    gone: outcomes.filter((o) => o.status === 'fulfilled' && o.value === 'gone').length,
    failed: failures.length,
  };
  if (failures.length > 0) {
    for (const { connectionId, error } of failures) logger.warn('live post failed', { connectionId, error });
    const first = failures[0]?.error;
    throw new UndeliveredError(
      summary,
      `could not post ${detail.transitionId} to ${failures.length} of ${connectionIds.length} connections: ${describeError(first)}`,
      { cause: first },
    );
  }
  return summary;
}

/** Forgets a connection API Gateway says is gone, through the same path as its `$disconnect`. */
async function forget(connectionId: string, foundUnder: readonly string[], ports: NotifierPorts): Promise<void> {
  try {
    await ports.connections.disconnect(connectionId, ports.clock(), foundUnder);
  } catch (error) {
    logger.warn('could not forget a gone connection; the next event or the TTL will', { connectionId, error });
  }
}

/** `Name: message` of an error, for the thrown message. */
function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
