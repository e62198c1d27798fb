import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  type PutCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { ORDER_IDS } from '../../events/process-payment/generate.js';
import { derivedId } from '../../shared/ids.js';
import { testContext } from '../../shared/testing/context.js';
import { expectPoisonDeadLettered } from '../../shared/testing/expectations.js';
import { FakeTable, throttled } from '../../shared/testing/fake-table.js';
import {
  batchItemFailure,
  memoryKafkaRig,
  mergeMskEvents,
  mskFixtures,
  tickingClock,
} from '../../shared/testing/fixtures.js';
import { fixtureCorrelation, recordCreated } from '../../shared/testing/order-records.js';
import { TOPICS } from '../../shared/topology.js';
import type { ChargeRequest, PaymentGateway, RefundRequest } from './payment-gateway.js';
import { dynamoAttemptCounter, dynamoPaymentStore } from './payment-store.js';
import { createHandler } from './process-payment-handler.js';
import { simulatedGateway } from './simulated-gateway.js';

const TABLE = 'orderflow-payments';
const NOW = 1_763_800_000_000;
const TOTAL_CENTS = 3399;
const PAYMENT_ID = (orderId: string) => derivedId('simulated-gateway', orderId);

const context = testContext('process-payment');
/** The conditional put creating the payment record of `orderId`. */
const paymentCreated = (orderId: string, fields: Record<string, unknown>) =>
  recordCreated(TABLE, 'PAYMENT', orderId, fields);

const ddb = mockClient(DynamoDBDocumentClient);
/** The PAYMENTS table behind the mocked document client, honouring the expressions the adapters write. */
let table: FakeTable;

/** Wraps a gateway to count its calls. */
class CountingGateway implements PaymentGateway {
  readonly charges: ChargeRequest[] = [];
  readonly refunds: RefundRequest[] = [];
  constructor(private readonly inner: PaymentGateway) {}
  charge(request: ChargeRequest) {
    this.charges.push(request);
    return this.inner.charge(request);
  }
  refund(request: RefundRequest) {
    this.refunds.push(request);
    return this.inner.refund(request);
  }
}

function setup() {
  const { kafka, deps, produced } = memoryKafkaRig(TOPICS.PAYMENT_EVENTS);
  const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  const gateway = new CountingGateway(simulatedGateway(dynamoAttemptCounter(documentClient, TABLE)));
  const store = dynamoPaymentStore(documentClient, TABLE);
  const handler = createHandler({ ...deps, store, gateway, clock: tickingClock(NOW) });
  return { kafka, handler, gateway, produced };
}

const fixture = mskFixtures('process-payment');

beforeEach(() => {
  ddb.reset();
  table = new FakeTable().serve(ddb);
});

describe('process-payment handler', () => {
  it('charges a tok_visa order, records the charge conditionally and emits PaymentProcessed', async () => {
    // Prepare
    const { handler, gateway, produced } = setup();

    // Act
    const response = await handler(fixture('order-validated-visa'), context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(gateway.charges).toEqual([
      {
        orderId: ORDER_IDS.visa,
        amountCents: TOTAL_CENTS,
        currency: 'EUR',
        token: 'tok_visa',
        idempotencyKey: ORDER_IDS.visa,
      },
    ]);
    expect(ddb.commandCalls(PutCommand).map((c) => c.args[0].input)).toEqual([
      paymentCreated(ORDER_IDS.visa, {
        status: 'CHARGED',
        paymentId: PAYMENT_ID(ORDER_IDS.visa),
        amountCents: TOTAL_CENTS,
        currency: 'EUR',
        chargedAt: NOW,
      }),
    ]);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
    expect(await produced()).toEqual([
      {
        type: 'PaymentProcessed',
        eventId: derivedId('process-payment', ORDER_IDS.visa, 'PaymentProcessed'),
        orderId: ORDER_IDS.visa,
        occurredAt: NOW,
        correlationId: fixtureCorrelation(ORDER_IDS.visa),
        paymentId: PAYMENT_ID(ORDER_IDS.visa),
        amountCents: TOTAL_CENTS,
        currency: 'EUR',
      },
    ]);
  });

  it('reads the payments of a batch in one consistent BatchGetItem, and charges a redelivery in it once', async () => {
    // Prepare: two orders, the first delivered twice in the batch.
    const { handler, gateway, produced } = setup();
    const redelivered = structuredClone(fixture('order-validated-visa'));
    for (const records of Object.values(redelivered.records)) {
      for (const r of records) (r as { offset: number }).offset += 1;
    }
    const batch = mergeMskEvents(fixture('order-validated-visa'), redelivered, fixture('order-validated-no-token'));

    // Act
    const response = await handler(batch, context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ddb.commandCalls(BatchGetCommand).map((c) => c.args[0].input)).toEqual([
      {
        RequestItems: {
          [TABLE]: {
            Keys: [ORDER_IDS.visa, ORDER_IDS.noToken].map((orderId) => ({ pk: `PAYMENT#${orderId}` })),
            ConsistentRead: true,
          },
        },
      },
    ]);
    // Only the redelivery reads again, and finds the charge the first delivery recorded.
    expect(ddb.commandCalls(GetCommand).map((c) => c.args[0].input.Key?.pk)).toEqual([`PAYMENT#${ORDER_IDS.visa}`]);
    expect(gateway.charges.map((c) => c.orderId)).toEqual([ORDER_IDS.visa, ORDER_IDS.noToken]);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(2);
    const events = await produced();
    expect(events.map((e) => [e.type, e.orderId])).toEqual([
      ['PaymentProcessed', ORDER_IDS.visa],
      ['PaymentProcessed', ORDER_IDS.visa],
      ['PaymentProcessed', ORDER_IDS.noToken],
    ]);
    expect(events[1]).toEqual(events[0]);
  });

  it('reads each payment on its own when the batch read fails, and still charges every order once', async () => {
    // Prepare: the read-ahead is refused; the per-record reads and writes are not.
    const { handler, gateway, produced } = setup();
    ddb.on(BatchGetCommand).rejects(throttled('Rate of requests exceeds'));
    const batch = mergeMskEvents(fixture('order-validated-visa'), fixture('order-validated-no-token'));

    // Act
    const response = await handler(batch, context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(1);
    expect(ddb.commandCalls(GetCommand).map((c) => c.args[0].input.Key?.pk)).toEqual([
      `PAYMENT#${ORDER_IDS.visa}`,
      `PAYMENT#${ORDER_IDS.noToken}`,
    ]);
    expect(gateway.charges.map((c) => c.orderId)).toEqual([ORDER_IDS.visa, ORDER_IDS.noToken]);
    expect((await produced()).map((e) => [e.type, e.orderId])).toEqual([
      ['PaymentProcessed', ORDER_IDS.visa],
      ['PaymentProcessed', ORDER_IDS.noToken],
    ]);
  });

  it('charges an order that carries no card token', async () => {
    // Prepare
    const { handler, produced } = setup();

    // Act
    await handler(fixture('order-validated-no-token'), context);

    // Assess
    expect(table.get(`PAYMENT#${ORDER_IDS.noToken}`)).toMatchObject({ status: 'CHARGED' });
    expect((await produced()).map((e) => e.type)).toEqual(['PaymentProcessed']);
  });

  it('records a declined charge and emits PaymentFailed', async () => {
    // Prepare
    const { handler, produced } = setup();

    // Act
    const response = await handler(fixture('order-validated-decline'), context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ddb.commandCalls(PutCommand)[0]?.args[0].input).toEqual(
      paymentCreated(ORDER_IDS.declined, {
        status: 'FAILED',
        amountCents: TOTAL_CENTS,
        currency: 'EUR',
        failedAt: NOW,
      }),
    );
    expect(await produced()).toEqual([
      {
        type: 'PaymentFailed',
        eventId: derivedId('process-payment', ORDER_IDS.declined, 'PaymentFailed'),
        orderId: ORDER_IDS.declined,
        occurredAt: NOW,
        correlationId: fixtureCorrelation(ORDER_IDS.declined),
        amountCents: TOTAL_CENTS,
        currency: 'EUR',
        reason: 'PAYMENT_DECLINED',
      },
    ]);
  });

  it('reports a flaky gateway in batchItemFailures, then the retry charges with exactly one PaymentProcessed', async () => {
    // Prepare
    const { handler, produced } = setup();

    // Act
    const failed = await handler(fixture('order-validated-flaky'), context);
    const recordAfterFailure = table.get(`PAYMENT#${ORDER_IDS.flaky}`);
    const retried = await handler(fixture('order-validated-flaky'), context);

    // Assess
    expect(failed).toEqual({
      batchItemFailures: [batchItemFailure(TOPICS.ORDERS_VALIDATED, 2, 21)],
    });
    expect(recordAfterFailure).toBeUndefined();
    expect(retried).toEqual({ batchItemFailures: [] });
    expect(ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input)).toEqual([
      {
        TableName: TABLE,
        Key: { pk: `GATEWAY#${ORDER_IDS.flaky}` },
        UpdateExpression: 'ADD attempts :one',
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      },
      expect.objectContaining({ Key: { pk: `GATEWAY#${ORDER_IDS.flaky}` } }),
    ]);
    expect(table.get(`GATEWAY#${ORDER_IDS.flaky}`)?.attempts).toBe(2);
    expect(await produced()).toEqual([
      expect.objectContaining({ type: 'PaymentProcessed', orderId: ORDER_IDS.flaky, amountCents: TOTAL_CENTS }),
    ]);
  });

  it('re-emits the identical record on redelivery without charging again', async () => {
    // Prepare
    const { handler, kafka, gateway } = setup();
    await handler(fixture('order-validated-visa'), context);

    // Act
    const response = await handler(fixture('order-validated-visa'), context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(gateway.charges).toHaveLength(1);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(1);
    expect(kafka.records).toHaveLength(2);
    expect(kafka.records[1]).toEqual(kafka.records[0]);
  });

  it('refunds a charged order on InventoryRejected exactly once', async () => {
    // Prepare
    const { handler, kafka, gateway, produced } = setup();
    await handler(fixture('refund-order-validated'), context);

    // Act
    await handler(fixture('refund-inventory-rejected'), context);
    const response = await handler(fixture('refund-inventory-rejected'), context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(gateway.refunds).toEqual([
      {
        paymentId: PAYMENT_ID(ORDER_IDS.refunded),
        amountCents: TOTAL_CENTS,
        currency: 'EUR',
        idempotencyKey: `${ORDER_IDS.refunded}#refund`,
      },
    ]);
    expect(ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input)).toEqual([
      {
        TableName: TABLE,
        Key: { pk: `PAYMENT#${ORDER_IDS.refunded}` },
        UpdateExpression: 'SET #status = :refunded, refundedAt = :refundedAt, refundReason = :reason',
        ConditionExpression: '#status = :charged',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':refunded': 'REFUNDED',
          ':charged': 'CHARGED',
          ':refundedAt': NOW + 1,
          ':reason': 'OUT_OF_STOCK',
        },
      },
    ]);
    const events = await produced();
    expect(events.map((e) => e.type)).toEqual(['PaymentProcessed', 'PaymentRefunded', 'PaymentRefunded']);
    expect(events[1]).toEqual({
      type: 'PaymentRefunded',
      eventId: derivedId('process-payment', ORDER_IDS.refunded, 'PaymentRefunded'),
      orderId: ORDER_IDS.refunded,
      occurredAt: NOW + 1,
      correlationId: fixtureCorrelation(ORDER_IDS.refunded),
      paymentId: PAYMENT_ID(ORDER_IDS.refunded),
      amountCents: TOTAL_CENTS,
      currency: 'EUR',
      reason: 'OUT_OF_STOCK',
    });
    expect(kafka.records[2]).toEqual(kafka.records[1]);
  });

  it('cancels an order rejected for stock before it was seen, so its OrderValidated charges nothing', async () => {
    // Prepare
    const { handler, gateway, produced } = setup();

    // Act
    await handler(fixture('rejected-first-inventory-rejected'), context);
    const response = await handler(fixture('rejected-first-order-validated'), context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ddb.commandCalls(PutCommand).map((c) => c.args[0].input)).toEqual([
      paymentCreated(ORDER_IDS.rejectedFirst, { status: 'CANCELLED', refundReason: 'OUT_OF_STOCK', cancelledAt: NOW }),
    ]);
    expect(gateway.charges).toEqual([]);
    expect(await produced()).toEqual([]);
  });

  it('records a late charge over a cancellation with a condition on CANCELLED, then refunds it', async () => {
    // Prepare
    const { handler, gateway, produced } = setup();
    // The stock check fails while the charge is in flight: the cancellation lands between our read and our write.
    ddb.on(PutCommand).callsFakeOnce((input: PutCommandInput) => {
      table.set(`PAYMENT#${ORDER_IDS.visa}`, {
        pk: `PAYMENT#${ORDER_IDS.visa}`,
        orderId: ORDER_IDS.visa,
        correlationId: fixtureCorrelation(ORDER_IDS.visa),
        status: 'CANCELLED',
        refundReason: 'OUT_OF_STOCK',
        cancelledAt: NOW - 1,
      });
      return table.putItem(input);
    });

    // Act
    const response = await handler(fixture('order-validated-visa'), context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      Key: { pk: `PAYMENT#${ORDER_IDS.visa}` },
      ConditionExpression: '#status = :cancelled',
      ExpressionAttributeValues: expect.objectContaining({ ':charged': 'CHARGED', ':cancelled': 'CANCELLED' }),
    });
    expect(gateway.charges).toHaveLength(1);
    expect(gateway.refunds).toHaveLength(1);
    expect(table.get(`PAYMENT#${ORDER_IDS.visa}`)).toMatchObject({ status: 'REFUNDED', refundReason: 'OUT_OF_STOCK' });
    expect((await produced()).map((e) => e.type)).toEqual(['PaymentProcessed', 'PaymentRefunded']);
  });

  it('handles a batch across partitions and topics, ignoring event types it does not consume', async () => {
    // Prepare
    const { handler, produced } = setup();

    // Act
    const response = await handler(fixture('mixed-batch'), context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(table.get(`PAYMENT#${ORDER_IDS.batchVisa}`)).toMatchObject({ status: 'CHARGED' });
    expect(table.get(`PAYMENT#${ORDER_IDS.batchDeclined}`)).toMatchObject({ status: 'FAILED' });
    expect(table.get(`PAYMENT#${ORDER_IDS.batchRejected}`)).toMatchObject({ status: 'CANCELLED' });
    expect((await produced()).map((e) => [e.type, e.orderId])).toEqual([
      ['PaymentProcessed', ORDER_IDS.batchVisa],
      ['PaymentFailed', ORDER_IDS.batchDeclined],
    ]);
  });

  it('fails the record when DynamoDB throttles, and its retry records a single charge', async () => {
    // Prepare
    const { handler, gateway, produced } = setup();
    ddb.on(PutCommand).rejectsOnce(throttled()).callsFake(table.putItem);

    // Act
    const failed = await handler(fixture('order-validated-visa'), context);
    const retried = await handler(fixture('order-validated-visa'), context);

    // Assess
    expect(failed).toEqual({
      batchItemFailures: [batchItemFailure(TOPICS.ORDERS_VALIDATED, 1, 10)],
    });
    expect(retried).toEqual({ batchItemFailures: [] });
    // The retry charges again with the same idempotency key: one charge at a real gateway.
    expect(gateway.charges.map((c) => c.idempotencyKey)).toEqual([ORDER_IDS.visa, ORDER_IDS.visa]);
    expect((await produced()).map((e) => e.type)).toEqual(['PaymentProcessed']);
  });

  it('dead-letters poison records and charges the good order behind them', async () => {
    // Prepare
    const { handler, kafka, produced } = setup();

    // Act
    const response = await handler(fixture('poison'), context);

    // Assess
    expectPoisonDeadLettered(response, kafka, 'process-payment');
    expect((await produced()).map((e) => e.orderId)).toEqual([ORDER_IDS.poison]);
  });
});
