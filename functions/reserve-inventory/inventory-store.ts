/**
 * The INVENTORY table as an `InventoryStore`: `SKU#<sku>` rows hold `available`, `RESERVATION#<orderId>` rows the
 * markers. Stock only moves inside a transaction that also writes the marker, so a decrement or a give-back
 * happens at most once per order whatever is redelivered.
 */
import { type CancellationReason, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { batchGetByIds } from '../../shared/batch-reads.js';
import { conditionalWrite, getWithoutKey, putIfAbsent } from '../../shared/dynamo-items.js';
import { TransientError } from '../../shared/errors.js';
import type { InventoryStore, Reservation, ReserveResult } from './reserve-inventory.js';

/** Partition key of an order's reservation marker. */
export function reservationKey(orderId: string): string {
  return `RESERVATION#${orderId}`;
}

/** Partition key of a SKU's stock row. */
export function skuKey(sku: string): string {
  return `SKU#${sku}`;
}

// `status` is a DynamoDB reserved word; the others get placeholders too so every expression reads the same.
const AVAILABLE = { '#available': 'available' };

/** An `InventoryStore` over the INVENTORY table. */
export function dynamoInventoryStore(client: DynamoDBDocumentClient, tableName: string): InventoryStore {
  return {
    getReservation: async (orderId) =>
      (await getWithoutKey(client, tableName, reservationKey(orderId))) as Reservation | undefined,

    getReservations: (orderIds) => batchGetByIds<Reservation>(client, tableName, orderIds, reservationKey),

    async reserve(reservation): Promise<ReserveResult> {
      try {
        await client.send(
          new TransactWriteCommand({
            TransactItems: [
              { Put: putIfAbsent(tableName, { pk: reservationKey(reservation.orderId), ...reservation }) },
              // A SKU without a row fails the condition too (`available` is missing), so it counts as out of stock.
              ...reservation.lines.map((line) => ({
                Update: {
                  TableName: tableName,
                  Key: { pk: skuKey(line.sku) },
                  UpdateExpression: 'SET #available = #available - :q',
                  ConditionExpression: '#available >= :q',
                  ExpressionAttributeNames: AVAILABLE,
                  ExpressionAttributeValues: { ':q': line.quantity },
                },
              })),
            ],
          }),
        );
        return { kind: 'RESERVED' };
      } catch (error) {
        const reasons = cancellationReasons(error);
        if (reasons === undefined) throw error;
        if (failedCondition(reasons[0])) return { kind: 'MARKER_EXISTS' };
        const skus = reservation.lines.filter((_, i) => failedCondition(reasons[i + 1])).map((line) => line.sku);
        if (skus.length > 0) return { kind: 'OUT_OF_STOCK', skus };
        throw new TransientError(`reservation of order ${reservation.orderId} was cancelled: ${codesOf(reasons)}`, {
          cause: error,
        });
      }
    },

    createReservation: (reservation) =>
      conditionalWrite(() =>
        client.send(
          new PutCommand(putIfAbsent(tableName, { pk: reservationKey(reservation.orderId), ...reservation })),
        ),
      ),

    async release(reservation, release) {
      try {
        await client.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Update: {
                  TableName: tableName,
                  Key: { pk: reservationKey(reservation.orderId) },
                  UpdateExpression: 'SET #status = :released, releasedAt = :at, releaseReason = :reason',
                  ConditionExpression: '#status = :reserved',
                  ExpressionAttributeNames: { '#status': 'status' },
                  ExpressionAttributeValues: {
                    ':released': 'RELEASED',
                    ':reserved': 'RESERVED',
                    ':at': release.releasedAt,
                    ':reason': release.reason,
                  },
                },
              },
              ...reservation.lines.map((line) => ({
                Update: {
                  TableName: tableName,
                  Key: { pk: skuKey(line.sku) },
                  UpdateExpression: 'ADD #available :q',
                  ExpressionAttributeNames: AVAILABLE,
                  ExpressionAttributeValues: { ':q': line.quantity },
                },
              })),
            ],
          }),
        );
        return true;
      } catch (error) {
        const reasons = cancellationReasons(error);
        if (reasons === undefined) throw error;
        if (failedCondition(reasons[0])) return false;
        throw new TransientError(`release of order ${reservation.orderId} was cancelled: ${codesOf(reasons)}`, {
          cause: error,
        });
      }
    },
  };
}

/** Per-item reasons of a cancelled transaction, in TransactItems order; `undefined` for any other error. */
function cancellationReasons(error: unknown): readonly (CancellationReason | undefined)[] | undefined {
  if (!(error instanceof TransactionCanceledException)) return undefined;
  return error.CancellationReasons ?? [];
}

function failedCondition(reason: CancellationReason | undefined): boolean {
  return reason?.Code === 'ConditionalCheckFailed';
}

function codesOf(reasons: readonly (CancellationReason | undefined)[]): string {
  return reasons.map((r) => r?.Code ?? 'None').join(', ');
}
