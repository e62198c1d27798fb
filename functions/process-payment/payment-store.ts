/**
 * The PAYMENTS table: `PAYMENT#<orderId>` records behind a `PaymentStore`, and `GATEWAY#<orderId>` attempt
 * counters behind the simulated gateway's `AttemptCounter`. Every write is conditional on the record's state.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { PaymentRecord, PaymentStore } from './process-payment.js';
import type { AttemptCounter } from './simulated-gateway.js';

/** Partition key of an order's payment record. */
export function paymentKey(orderId: string): string {
  return `PAYMENT#${orderId}`;
}

/** Partition key of an order's simulated-gateway attempt counter. */
export function gatewayKey(orderId: string): string {
  return `GATEWAY#${orderId}`;
}

// `status` is a DynamoDB reserved word.
const STATUS = { '#status': 'status' };

/** A `PaymentStore` over the PAYMENTS table. */
export function dynamoPaymentStore(client: DynamoDBDocumentClient, tableName: string): PaymentStore {
  /** Runs a conditional write; `false` when its condition did not hold. */
  const conditional = async (write: () => Promise<unknown>): Promise<boolean> => {
    try {
      await write();
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  };
  return {
    async get(orderId) {
      const { Item } = await client.send(
        new GetCommand({ TableName: tableName, Key: { pk: paymentKey(orderId) }, ConsistentRead: true }),
      );
      if (Item === undefined) return undefined;
      const { pk: _pk, ...record } = Item;
      return record as PaymentRecord;
    },

    create: (record) =>
      conditional(() =>
        client.send(
          new PutCommand({
            TableName: tableName,
            Item: { pk: paymentKey(record.orderId), ...record },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        ),
      ),

    chargeCancelled: (orderId, charge) =>
      conditional(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { pk: paymentKey(orderId) },
            UpdateExpression:
              'SET #status = :charged, paymentId = :paymentId, amountCents = :amountCents, currency = :currency, chargedAt = :chargedAt',
            ConditionExpression: '#status = :cancelled',
            ExpressionAttributeNames: STATUS,
            ExpressionAttributeValues: {
              ':charged': 'CHARGED',
              ':cancelled': 'CANCELLED',
              ':paymentId': charge.paymentId,
              ':amountCents': charge.amountCents,
              ':currency': charge.currency,
              ':chargedAt': charge.chargedAt,
            },
          }),
        ),
      ),

    markRefunded: (orderId, refund) =>
      conditional(() =>
        client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { pk: paymentKey(orderId) },
            UpdateExpression: 'SET #status = :refunded, refundedAt = :refundedAt, refundReason = :reason',
            ConditionExpression: '#status = :charged',
            ExpressionAttributeNames: STATUS,
            ExpressionAttributeValues: {
              ':refunded': 'REFUNDED',
              ':charged': 'CHARGED',
              ':refundedAt': refund.refundedAt,
              ':reason': refund.reason,
            },
          }),
        ),
      ),
  };
}

/** An `AttemptCounter` over the PAYMENTS table: one atomic ADD per attempt, so concurrent attempts count apart. */
export function dynamoAttemptCounter(client: DynamoDBDocumentClient, tableName: string): AttemptCounter {
  return {
    async next(orderId) {
      const { Attributes } = await client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { pk: gatewayKey(orderId) },
          UpdateExpression: 'ADD attempts :one',
          ExpressionAttributeValues: { ':one': 1 },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(Attributes?.attempts ?? 1);
    },
  };
}
