/** The ORDER_STATUS table: one item per order, keyed by `orderId`, behind an `OrderStore`. */
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { PermanentError, TransientError } from '../../shared/errors.js';
import { type ItemWrite, type OrderStatusItem, type OrderStore, VersionConflictError } from './order-status.js';

/** BatchGetItem reads at most 100 keys per call. */
const BATCH_GET_LIMIT = 100;

/** TransactWriteItems takes at most 100 actions, on different items (API_TransactWriteItems.html). */
const TRANSACT_WRITE_LIMIT = 100;

/**
 * The ORDER_STATUS table as an `OrderStore`: consistent reads, writes conditional on the version read. `putMany`
 * writes a batch's items in one TransactWriteItems per 100 (one PutItem when there is one): on Dynoxide that is
 * 2.5-4x the items/s of conditional PutItems and a tenth of the client CPU per item, and on AWS one call instead of
 * one per item, for twice the write units (docs/benchmarks.md#order-status-writes). The transaction is only a way to
 * send many conditional puts at once: a cancelled one (CancellationReasons, position by position) fails the items
 * whose condition failed with `VersionConflictError` and sends the others again without them.
 */
export function dynamoOrderStore(client: DynamoDBDocumentClient, tableName: string): OrderStore {
  const put = async (item: OrderStatusItem, expectedVersion: number | undefined) => {
    try {
      await client.send(new PutCommand(putInput(tableName, { item, expectedVersion })));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new VersionConflictError(`order ${item.orderId} changed since version ${expectedVersion ?? 'none'}`, {
          cause: error,
        });
      }
      throw error;
    }
  };
  return {
    get: async (orderId) => {
      const { Item } = await client.send(
        new GetCommand({ TableName: tableName, Key: { orderId }, ConsistentRead: true }),
      );
      return Item as OrderStatusItem | undefined;
    },
    getMany: async (orderIds) => {
      const found = new Map<string, OrderStatusItem | undefined>();
      for (let i = 0; i < orderIds.length; i += BATCH_GET_LIMIT) {
        const chunk = orderIds.slice(i, i + BATCH_GET_LIMIT);
        const result = await client.send(
          new BatchGetCommand({
            RequestItems: { [tableName]: { Keys: chunk.map((orderId) => ({ orderId })), ConsistentRead: true } },
          }),
        );
        // Keys DynamoDB left unprocessed stay out of the map; `get` reads them one by one
        // (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html).
        const unprocessed = new Set(
          (result.UnprocessedKeys?.[tableName]?.Keys ?? []).map((key) => String(key.orderId)),
        );
        for (const orderId of chunk) if (!unprocessed.has(orderId)) found.set(orderId, undefined);
        for (const item of result.Responses?.[tableName] ?? []) {
          found.set(String(item.orderId), item as OrderStatusItem);
        }
      }
      return found;
    },
    put,
    putMany: async (writes) => {
      const failed = new Map<string, Error>();
      for (let i = 0; i < writes.length; i += TRANSACT_WRITE_LIMIT) {
        let remaining = writes.slice(i, i + TRANSACT_WRITE_LIMIT);
        while (remaining.length > 0) {
          if (remaining.length === 1) {
            // A transaction of one costs twice a PutItem's write units for the same one call.
            const [{ item, expectedVersion }] = remaining as [ItemWrite];
            await put(item, expectedVersion).catch((error: Error) => failed.set(item.orderId, error));
            break;
          }
          remaining = await transactPuts(client, tableName, remaining, failed);
        }
      }
      return failed;
    },
  };
}

/**
 * One TransactWriteItems of `writes`; the writes to send again (those a cancellation did not blame), the others'
 * failures into `failed`.
 */
async function transactPuts(
  client: DynamoDBDocumentClient,
  tableName: string,
  writes: readonly ItemWrite[],
  failed: Map<string, Error>,
): Promise<ItemWrite[]> {
  try {
    await client.send(
      new TransactWriteCommand({ TransactItems: writes.map((w) => ({ Put: putInput(tableName, w) })) }),
    );
    return [];
  } catch (error) {
    if (!isTransactionCanceled(error) || error.CancellationReasons?.length !== writes.length) {
      // Not a cancellation (throttled, network, validation), or one whose reasons cannot be matched: every write
      // fails with it, and a conflict then is each item's (re-read, re-folded, written again).
      const each = isTransactionCanceled(error) ? conflictOf('the transaction was cancelled', error) : error;
      for (const { item } of writes) failed.set(item.orderId, each as Error);
      return [];
    }
    const again: ItemWrite[] = [];
    for (const [index, write] of writes.entries()) {
      const code = error.CancellationReasons[index]?.Code ?? 'None';
      const orderId = write.item.orderId;
      if (code === 'None') again.push(write);
      // TransactionConflict: another write of the item was in flight; re-reading it is the answer to both.
      else if (code === 'ConditionalCheckFailed' || code === 'TransactionConflict') {
        failed.set(
          orderId,
          conflictOf(`order ${orderId} changed since version ${write.expectedVersion ?? 'none'}`, error),
        );
      } else if (code === 'ValidationError') {
        failed.set(orderId, new PermanentError('PROCESSING_ERROR', `order ${orderId}: ${code}`, { cause: error }));
      } else failed.set(orderId, new TransientError(`order ${orderId}: ${code} in a transaction`, { cause: error }));
    }
    // Every reason None would be DynamoDB's inconsistency: fail them rather than loop.
    if (again.length === writes.length) {
      for (const { item } of again)
        failed.set(item.orderId, new TransientError('transaction cancelled without a reason', { cause: error }));
      return [];
    }
    return again;
  }
}

/** The Put input of `write`: conditional on the version read, or on there being no item. */
function putInput(tableName: string, { item, expectedVersion }: ItemWrite) {
  const condition =
    expectedVersion === undefined
      ? { ConditionExpression: 'attribute_not_exists(orderId)' }
      : {
          ConditionExpression: '#version = :expected',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':expected': expectedVersion },
        };
  return { TableName: tableName, Item: item, ...condition };
}

function conflictOf(message: string, cause: unknown): VersionConflictError {
  return new VersionConflictError(message, { cause });
}

function isTransactionCanceled(error: unknown): error is TransactionCanceledException {
  return (
    error instanceof TransactionCanceledException ||
    (error instanceof Error && error.name === 'TransactionCanceledException')
  );
}
