/** The ORDER_STATUS table as the order API's `OrderReader`: projected on the attributes the API returns. */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { getOrderStatusItem } from '../../shared/order-status-item.js';
import { ORDER_VIEW_ATTRIBUTES, type OrderReader } from './order-api.js';

/** Reads order-status rows, projected on the attributes the API returns. */
export function orderStatusReader(client: DynamoDBDocumentClient, tableName: string): OrderReader {
  return { get: (orderId) => getOrderStatusItem(client, tableName, orderId, ORDER_VIEW_ATTRIBUTES) };
}
