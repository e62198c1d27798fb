/**
 * DynamoDB tables: their environment variable, partition key and purpose. The CDK stack and local provisioning
 * create them from this list; functions find them through the variable.
 */

/** One DynamoDB table. */
export interface TableSpec {
  /** Construct id and local table name (`orderflow-<id>`). */
  readonly id: string;
  /** Environment variable holding the table name. */
  readonly env: string;
  /** Partition key attribute (a string); no table has a sort key. */
  readonly partitionKey: string;
  /** Attribute holding an epoch-seconds expiry, when the table uses TTL. */
  readonly ttlAttribute?: string;
  readonly purpose: string;
}

/** Every table. */
export const TABLES = {
  ORDER_STATUS: {
    id: 'order-status',
    env: 'ORDER_STATUS_TABLE',
    partitionKey: 'orderId',
    purpose: "Each order's status, history and the facts that led to it (order-status writes, order-api reads).",
  },
  CATALOG: {
    id: 'catalog',
    env: 'CATALOG_TABLE',
    partitionKey: 'pk',
    purpose: 'SKU#<sku>: prices per currency in cents; CUSTOMER#<id>: blocked customers (validate-order).',
  },
  INVENTORY: {
    id: 'inventory',
    env: 'INVENTORY_TABLE',
    partitionKey: 'pk',
    purpose: 'SKU#<sku>: available stock; RESERVATION#<orderId>: what was reserved, and its state (reserve-inventory).',
  },
  PAYMENTS: {
    id: 'payments',
    env: 'PAYMENTS_TABLE',
    partitionKey: 'pk',
    purpose: 'PAYMENT#<orderId>: charge state; GATEWAY#<orderId>: the simulated gateway attempts (process-payment).',
  },
  ANALYTICS: {
    id: 'analytics',
    env: 'ANALYTICS_TABLE',
    partitionKey: 'pk',
    purpose:
      'MINUTE#<minute>#<currency> aggregates, TOTAL#<currency> running totals, ORDER#<orderId> markers (order-analytics).',
  },
  IDEMPOTENCY: {
    id: 'idempotency',
    env: 'IDEMPOTENCY_TABLE',
    partitionKey: 'id',
    ttlAttribute: 'expiration',
    purpose: 'Powertools idempotency records (order-api Idempotency-Key, send-order-email once per transition).',
  },
  LIVE_CONNECTIONS: {
    id: 'live-connections',
    env: 'LIVE_CONNECTIONS_TABLE',
    partitionKey: 'pk',
    ttlAttribute: 'expiresAt',
    purpose:
      'CONN#<connectionId>: the orders a WebSocket connection subscribed to; SUB#<orderId|*>: the connections subscribed to it (live-connections writes, live-notifier reads).',
  },
} as const satisfies Record<string, TableSpec>;

/** Names of tables when run locally (`orderflow-<id>`). */
export function localTableName(table: TableSpec): string {
  return `orderflow-${table.id}`;
}
