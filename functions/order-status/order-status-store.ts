/** The ORDER_STATUS table: one item per order, keyed by `orderId`, behind an `OrderStore`. */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { type OrderStatusItem, type OrderStore, VersionConflictError } from './order-status.js';

/** BatchGetItem reads at most 100 keys per call. */
const BATCH_GET_LIMIT = 100;

/** The ORDER_STATUS table as an `OrderStore`: consistent reads, writes conditional on the version read. */
export function dynamoOrderStore(client: DynamoDBDocumentClient, tableName: string): OrderStore {
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
    put: async (item, expectedVersion) => {
      const condition =
        expectedVersion === undefined
          ? { ConditionExpression: 'attribute_not_exists(orderId)' }
          : {
              ConditionExpression: '#version = :expected',
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':expected': expectedVersion },
            };
      try {
        await client.send(new PutCommand({ TableName: tableName, Item: item, ...condition }));
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) {
          throw new VersionConflictError(`order ${item.orderId} changed since version ${expectedVersion ?? 'none'}`, {
            cause: error,
          });
        }
        throw error;
      }
    },
  };
}
