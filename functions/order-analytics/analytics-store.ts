/**
 * The ANALYTICS table: `ORDER#<orderId>` markers, `MINUTE#<minute>#<currency>` and `TOTAL#<currency>` aggregates
 * behind an `AnalyticsStore`.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { putIfAbsent } from '../../shared/dynamo-items.js';
import { TransientError } from '../../shared/errors.js';
import type { AnalyticsStore, OrderCount } from './order-analytics.js';

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
    totals: async (currency) => {
      const { Item } = await client.send(new GetCommand({ TableName: tableName, Key: { pk: `TOTAL#${currency}` } }));
      if (!Item) return undefined;
      return { currency, orders: Number(Item.orders ?? 0), revenueCents: Number(Item.revenueCents ?? 0) };
    },
  };
}

function isTransactionCanceled(error: unknown): error is TransactionCanceledException {
  return (
    error instanceof TransactionCanceledException ||
    (error instanceof Error && error.name === 'TransactionCanceledException')
  );
}
