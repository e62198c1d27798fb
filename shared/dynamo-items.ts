/**
 * Item writes and reads that the saga steps' stores (PAYMENTS, INVENTORY, ANALYTICS) make alike: records under a
 * `pk` attribute, written once with `attribute_not_exists(pk)`, read back consistently.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';

/**
 * The input of a Put (alone or in a transaction) that only succeeds while no item has `item.pk`.
 *
 * @example
 * await client.send(new PutCommand(putIfAbsent(tableName, { pk: `PAYMENT#${orderId}`, ...record })));
 */
export function putIfAbsent<T extends { readonly pk: string }>(tableName: string, item: T) {
  return { TableName: tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' };
}

/**
 * Runs a conditional write: `true` when it was written, `false` when its condition did not hold; any other error
 * is thrown.
 *
 * @example
 * const created = await conditionalWrite(() => client.send(new PutCommand(putIfAbsent(tableName, item))));
 */
export async function conditionalWrite(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/**
 * The item under `pk`, read consistently, without its `pk` attribute; undefined when there is none.
 *
 * @example
 * const record = (await getWithoutKey(client, tableName, `PAYMENT#${orderId}`)) as PaymentRecord | undefined;
 */
export async function getWithoutKey(
  client: DynamoDBDocumentClient,
  tableName: string,
  pk: string,
): Promise<Record<string, unknown> | undefined> {
  const { Item } = await client.send(new GetCommand({ TableName: tableName, Key: { pk }, ConsistentRead: true }));
  if (Item === undefined) return undefined;
  const { pk: _pk, ...rest } = Item;
  return rest;
}
