/**
 * The ANALYTICS table: `ORDER#<orderId>` markers, `MINUTE#<minute>#<currency>` and `TOTAL#<currency>` aggregates
 * behind an `AnalyticsStore`.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { putIfAbsent } from '../../shared/dynamo-items.js';
import { TransientError } from '../../shared/errors.js';
import type { AnalyticsStore, OrderCount } from './order-analytics.js';

/** TransactWriteItems takes at most 100 actions (API_TransactWriteItems.html). */
const TRANSACT_WRITE_LIMIT = 100;

const ADD_ORDER = {
  UpdateExpression: 'ADD #orders :one, #revenue :revenue SET #currency = :currency',
  ExpressionAttributeNames: { '#orders': 'orders', '#revenue': 'revenueCents', '#currency': 'currency' },
};

/**
 * The ANALYTICS table as an `AnalyticsStore`. The marker Put and both ADDs are one transaction, so an order is
 * in the aggregates exactly when its marker exists. No ClientRequestToken on purpose: within its 10-minute
 * window a redelivered batch would succeed again and report the metrics twice.
 */
export function dynamoAnalyticsStore(client: DynamoDBDocumentClient, tableName: string): AnalyticsStore {
  return {
    recordOrder: async (count: OrderCount) => {
      const values = { ':one': 1, ':revenue': count.revenueCents, ':currency': count.currency };
      try {
        await client.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: putIfAbsent(tableName, {
                  pk: `ORDER#${count.orderId}`,
                  orderId: count.orderId,
                  eventId: count.eventId,
                  currency: count.currency,
                  revenueCents: count.revenueCents,
                  minute: count.minute,
                  validatedAt: count.validatedAt,
                }),
              },
              {
                Update: {
                  TableName: tableName,
                  Key: { pk: `MINUTE#${count.minute}#${count.currency}` },
                  ...ADD_ORDER,
                  ExpressionAttributeValues: values,
                },
              },
              {
                Update: {
                  TableName: tableName,
                  Key: { pk: `TOTAL#${count.currency}` },
                  ...ADD_ORDER,
                  ExpressionAttributeValues: values,
                },
              },
            ],
          }),
        );
        return true;
      } catch (error) {
        if (!isTransactionCanceled(error)) throw error;
        // Reasons are positional: [0] is the marker Put (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html).
        const codes = (error.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
        if (codes[0] === 'ConditionalCheckFailed') return false;
        throw new TransientError(`analytics transaction for order ${count.orderId} cancelled: ${codes.join(', ')}`, {
          cause: error,
        });
      }
    },
    // A batch's orders in one transaction per 100 actions: their markers, then one ADD per minute bucket and per
    // currency total with the batch's sums. 2 write units per marker plus a few aggregates per call, instead of 3
    // items (6 units) and one call per order. A marker that exists (a replay) cancels the transaction; its order
    // was counted before, and the others go again without it.
    recordOrders: async (counts) => {
      const results = new Map<string, boolean | Error>();
      let rest = [...counts];
      while (rest.length > 0) {
        const chunk = fitting(rest);
        rest = rest.slice(chunk.length);
        let pending = chunk;
        while (pending.length > 0) {
          try {
            await client.send(new TransactWriteCommand({ TransactItems: batchItems(tableName, pending) }));
            for (const count of pending) results.set(count.orderId, true);
            pending = [];
          } catch (error) {
            const codes = isTransactionCanceled(error)
              ? (error.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None')
              : [];
            const counted = pending.filter((_, i) => codes[i] === 'ConditionalCheckFailed');
            const othersFine =
              codes.length > 0 &&
              codes.every((c, i) => c === 'None' || (i < pending.length && c === 'ConditionalCheckFailed'));
            if (counted.length === 0 || !othersFine) {
              const failure = isTransactionCanceled(error)
                ? new TransientError(
                    `analytics transaction of ${pending.length} orders cancelled: ${codes.join(', ')}`,
                    {
                      cause: error,
                    },
                  )
                : (error as Error);
              for (const count of pending) results.set(count.orderId, failure);
              pending = [];
              continue;
            }
            for (const count of counted) results.set(count.orderId, false);
            pending = pending.filter((count) => !counted.includes(count));
          }
        }
      }
      return results;
    },
    totals: async (currency) => {
      const { Item } = await client.send(new GetCommand({ TableName: tableName, Key: { pk: `TOTAL#${currency}` } }));
      if (!Item) return undefined;
      return { currency, orders: Number(Item.orders ?? 0), revenueCents: Number(Item.revenueCents ?? 0) };
    },
  };
}

/** The aggregates `counts` add to: one per minute bucket and currency, one per currency total. */
function aggregatesOf(
  counts: readonly OrderCount[],
): Map<string, { currency: string; orders: number; revenueCents: number }> {
  const sums = new Map<string, { currency: string; orders: number; revenueCents: number }>();
  for (const count of counts) {
    for (const pk of [`MINUTE#${count.minute}#${count.currency}`, `TOTAL#${count.currency}`]) {
      const sum = sums.get(pk) ?? { currency: count.currency, orders: 0, revenueCents: 0 };
      sums.set(pk, { ...sum, orders: sum.orders + 1, revenueCents: sum.revenueCents + count.revenueCents });
    }
  }
  return sums;
}

/** The longest head of `counts` whose markers and aggregates fit in one transaction. */
function fitting(counts: readonly OrderCount[]): OrderCount[] {
  let n = 1;
  while (n < counts.length && n + 1 + aggregatesOf(counts.slice(0, n + 1)).size <= TRANSACT_WRITE_LIMIT) n += 1;
  return counts.slice(0, n);
}

/** The transaction of `counts`: the markers first (a cancellation's reasons are positional), then the aggregates. */
function batchItems(tableName: string, counts: readonly OrderCount[]) {
  const markers = counts.map((count) => ({
    Put: putIfAbsent(tableName, {
      pk: `ORDER#${count.orderId}`,
      orderId: count.orderId,
      eventId: count.eventId,
      currency: count.currency,
      revenueCents: count.revenueCents,
      minute: count.minute,
      validatedAt: count.validatedAt,
    }),
  }));
  const aggregates = [...aggregatesOf(counts)].map(([pk, sum]) => ({
    Update: {
      TableName: tableName,
      Key: { pk },
      ...ADD_ORDER,
      ExpressionAttributeValues: { ':one': sum.orders, ':revenue': sum.revenueCents, ':currency': sum.currency },
    },
  }));
  return [...markers, ...aggregates];
}

function isTransactionCanceled(error: unknown): error is TransactionCanceledException {
  return (
    error instanceof TransactionCanceledException ||
    (error instanceof Error && error.name === 'TransactionCanceledException')
  );
}
