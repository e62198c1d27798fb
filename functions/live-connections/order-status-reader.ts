/** The ORDER_STATUS table as live-connections' `CurrentStatusReader`: status, reason and the time of the latest transition. */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ORDER_STATUSES } from '../../shared/live-protocol.js';
import { getOrderStatusItem } from '../../shared/order-status-item.js';
import type { CurrentStatus, CurrentStatusReader } from './live-connections.js';

interface StoredStatus {
  readonly status?: string;
  readonly reason?: string;
  readonly history?: readonly { readonly status: string; readonly at: string }[];
  readonly updatedAt?: string;
}

/** Reads an order's current status from ORDER_STATUS (written by order-status), projected on what a reply needs. */
export function orderStatusReader(client: DynamoDBDocumentClient, tableName: string): CurrentStatusReader {
  return {
    async get(orderId) {
      // Consistent: the subscription was just written, and an older status would be overtaken at once.
      const item = await getOrderStatusItem(client, tableName, orderId, ['status', 'reason', 'history', 'updatedAt'], {
        consistentRead: true,
      });
      return item === undefined ? undefined : currentStatusOf(orderId, item as StoredStatus);
    },
  };
}

/**
 * The current status of a stored order. `at` is the time of the latest history entry (the event that caused the
 * transition, as the notifier's `occurredAt`), `updatedAt` only for an item written before any history.
 */
export function currentStatusOf(orderId: string, item: StoredStatus): CurrentStatus {
  const status = item.status;
  if (!ORDER_STATUSES.includes(status as CurrentStatus['status'])) {
    // A broken writer, not a client mistake: fail the request loudly.
    throw new Error(`order ${orderId} has status ${String(status)} in ORDER_STATUS, expected one of ${ORDER_STATUSES}`);
  }
  const latest = item.history?.at(-1);
  return {
    status: status as CurrentStatus['status'],
    ...(item.reason === undefined ? {} : { reason: item.reason }),
    at: latest?.at ?? item.updatedAt ?? new Date(0).toISOString(),
  };
}
