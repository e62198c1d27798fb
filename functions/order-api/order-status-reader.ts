/** The ORDER_STATUS table as the order API's `OrderReader`: projected on the attributes the API returns. */
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { ORDER_VIEW_ATTRIBUTES, type OrderReader } from './order-api.js';

/** Reads order-status rows, projected on the attributes the API returns. */
export function orderStatusReader(client: DynamoDBDocumentClient, tableName: string): OrderReader {
  const names = Object.fromEntries(ORDER_VIEW_ATTRIBUTES.map((a) => [`#${a}`, a]));
  return {
    async get(orderId) {
      const { Item } = await client.send(
        new GetCommand({
          TableName: tableName,
          Key: { orderId },
          ProjectionExpression: Object.keys(names).join(', '),
          ExpressionAttributeNames: names,
        }),
      );
      return Item;
    },
  };
}
