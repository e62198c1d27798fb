/**
 * The PAYMENTS table: `PAYMENT#<orderId>` records behind a `PaymentStore`, and `GATEWAY#<orderId>` attempt
 * counters behind the simulated gateway's `AttemptCounter`. Every write is conditional on the record's state.
 */
import { type DynamoDBDocumentClient, PutCommand, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { batchGetByIds } from '../../shared/batch-reads.js';
import { conditionalWrite, getWithoutKey, putIfAbsent } from '../../shared/dynamo-items.js';
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
  /** A conditional update of the payment record of `orderId`; `false` when its condition did not hold. */
  const updateRecord = (
    orderId: string,
    update: Pick<UpdateCommandInput, 'UpdateExpression' | 'ConditionExpression' | 'ExpressionAttributeValues'>,
  ) =>
    conditionalWrite(() =>
      client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { pk: paymentKey(orderId) },
          ExpressionAttributeNames: STATUS,
          ...update,
        }),
      ),
    );

  return {
    get: async (orderId) => (await getWithoutKey(client, tableName, paymentKey(orderId))) as PaymentRecord | undefined,

    getMany: (orderIds) => batchGetByIds<PaymentRecord>(client, tableName, orderIds, paymentKey),

    create: (record) =>
      conditionalWrite(() =>
        client.send(new PutCommand(putIfAbsent(tableName, { pk: paymentKey(record.orderId), ...record }))),
      ),

    chargeCancelled: (orderId, charge) =>
      updateRecord(orderId, {
        UpdateExpression:
          'SET #status = :charged, paymentId = :paymentId, amountCents = :amountCents, currency = :currency, chargedAt = :chargedAt',
        ConditionExpression: '#status = :cancelled',
        ExpressionAttributeValues: {
          ':charged': 'CHARGED',
          ':cancelled': 'CANCELLED',
          ':paymentId': charge.paymentId,
          ':amountCents': charge.amountCents,
          ':currency': charge.currency,
          ':chargedAt': charge.chargedAt,
        },
      }),

    markRefunded: (orderId, refund) =>
      updateRecord(orderId, {
        UpdateExpression: 'SET #status = :refunded, refundedAt = :refundedAt, refundReason = :reason',
        ConditionExpression: '#status = :charged',
        ExpressionAttributeValues: {
          ':refunded': 'REFUNDED',
          ':charged': 'CHARGED',
          ':refundedAt': refund.refundedAt,
          ':reason': refund.reason,
        },
      }),
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
