/** Reading one order's item from the ORDER_STATUS table (written by order-status), for the functions that only read it. */
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';

/**
 * The ORDER_STATUS item of `orderId`, projected on `attributes` (each through a `#name`, so reserved words such as
 * `status` need no care), or undefined when there is none.
 *
 * @example
 * const item = await getOrderStatusItem(client, config.ORDER_STATUS_TABLE, orderId, ['status', 'history']);
 */
export async function getOrderStatusItem(
  client: DynamoDBDocumentClient,
  tableName: string,
  orderId: string,
  attributes: readonly string[],
  options: { readonly consistentRead?: boolean } = {},
): Promise<Record<string, unknown> | undefined> {
  const names = Object.fromEntries(attributes.map((a) => [`#${a}`, a]));
  const { Item } = await client.send(
    new GetCommand({
      TableName: tableName,
      Key: { orderId },
      ...(options.consistentRead ? { ConsistentRead: true } : {}),
      ProjectionExpression: Object.keys(names).join(', '),
      ExpressionAttributeNames: names,
    }),
  );
  return Item;
}
