import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandInput,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { ORDER_IDS } from '../../events/reserve-inventory/generate.js';
import { derivedId } from '../../shared/ids.js';
import type { MskEvent } from '../../shared/msk.js';
import { testContext } from '../../shared/testing/context.js';
import { expectPoisonDeadLettered } from '../../shared/testing/expectations.js';
import { FakeTable, throttled, transactionCancelled } from '../../shared/testing/fake-table.js';
import {
  batchItemFailure,
  memoryKafkaRig,
  mergeMskEvents,
  mskFixtures,
  tickingClock,
} from '../../shared/testing/fixtures.js';
import { fixtureCorrelation, recordCreated } from '../../shared/testing/order-records.js';
import { TOPICS } from '../../shared/topology.js';
import { dynamoInventoryStore } from './inventory-store.js';
import { createHandler } from './reserve-inventory-handler.js';

const TABLE = 'orderflow-inventory';
const NOW = 1_763_800_000_000;
/** The conditional put creating the reservation record of `orderId`. */
const reservationCreated = (orderId: string, fields: Record<string, unknown>) =>
  recordCreated(TABLE, 'RESERVATION', orderId, fields);

const context = testContext('reserve-inventory');

const ddb = mockClient(DynamoDBDocumentClient);
/** The INVENTORY table behind the mocked document client, honouring the expressions the adapter writes. */
let table: FakeTable;

function seedStock(stock: Record<string, number>): void {
  for (const [sku, available] of Object.entries(stock)) table.set(`SKU#${sku}`, { pk: `SKU#${sku}`, sku, available });
}

function stockOf(sku: string): unknown {
  return table.get(`SKU#${sku}`)?.available;
}

function setup() {
  const { codec, kafka, deps, produced } = memoryKafkaRig(TOPICS.INVENTORY_EVENTS);
  const store = dynamoInventoryStore(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })), TABLE);
  const handler = createHandler({ ...deps, store, clock: tickingClock(NOW) });
  return { codec, kafka, handler, produced };
}

const fixture = mskFixtures('reserve-inventory');

/** Every record of `event` as a batch of its own, in the order the batch handles them (`recordsOf`). */
function oneByOne(event: MskEvent): MskEvent[] {
  const singles = Object.entries(event.records).flatMap(([key, records]) =>
    records.map((record) => ({ record, event: { ...event, records: { [key]: [record] } } })),
  );
  singles.sort(
    ({ record: a }, { record: b }) =>
      a.topic.localeCompare(b.topic) || a.partition - b.partition || Number(a.offset) - Number(b.offset),
  );
  return singles.map((single) => single.event);
}

/**
 * A batch with every path: reservations, an out-of-stock order, a reservation released by its failed payment in
 * the same batch, a payment that failed for an order not seen yet, event types it ignores, and a redelivery.
 */
function everyPathBatch(): MskEvent {
  const redelivered = structuredClone(fixture('order-validated'));
  for (const records of Object.values(redelivered.records))
    for (const r of records) (r as { offset: number }).offset += 1;
  return mergeMskEvents(
    fixture('order-validated'),
    fixture('order-validated-out-of-stock'),
    fixture('release-order-validated'),
    fixture('release-payment-failed'),
    fixture('mixed-batch'),
    redelivered,
  );
}

beforeEach(() => {
  ddb.reset();
  table = new FakeTable().serve(ddb);
  seedStock({ 'SKU-RED-MUG': 10, 'SKU-TEA-250G': 5 });
});

describe('reserve-inventory handler', () => {
  it('reserves every line in one transaction guarded by the marker and emits InventoryReserved', async () => {
    // Prepare
    const { handler, produced } = setup();

    // Act
    const response = await handler(fixture('order-validated'), context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const transactions = ddb.commandCalls(TransactWriteCommand);
    expect(transactions).toHaveLength(1);
    expect(transactions[0]?.args[0].input).toEqual({
      TransactItems: [
        {
          Put: reservationCreated(ORDER_IDS.reserved, {
            lines: [
              { sku: 'SKU-RED-MUG', quantity: 2 },
              { sku: 'SKU-TEA-250G', quantity: 1 },
            ],
            status: 'RESERVED',
            reservedAt: NOW,
          }),
        },
        ...[
          ['SKU-RED-MUG', 2],
          ['SKU-TEA-250G', 1],
        ].map(([sku, q]) => ({
          Update: {
            TableName: TABLE,
            Key: { pk: `SKU#${sku}` },
            UpdateExpression: 'SET #available = #available - :q',
            ConditionExpression: '#available >= :q',
            ExpressionAttributeNames: { '#available': 'available' },
            ExpressionAttributeValues: { ':q': q },
          },
        })),
      ],
    });
    expect(stockOf('SKU-RED-MUG')).toBe(8);
    expect(stockOf('SKU-TEA-250G')).toBe(4);
    expect(await produced()).toEqual([
      {
        type: 'InventoryReserved',
        eventId: derivedId('reserve-inventory', ORDER_IDS.reserved, 'InventoryReserved'),
        orderId: ORDER_IDS.reserved,
        occurredAt: NOW,
        correlationId: fixtureCorrelation(ORDER_IDS.reserved),
        lines: [
          { sku: 'SKU-RED-MUG', quantity: 2 },
          { sku: 'SKU-TEA-250G', quantity: 1 },
        ],
      },
    ]);
  });

  it('reads the markers of a batch in one consistent BatchGetItem, each order once', async () => {
    // Prepare
    const { handler } = setup();

    // Act
    const response = await handler(everyPathBatch(), context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const batchGets = ddb.commandCalls(BatchGetCommand).map((c) => c.args[0].input);
    expect(batchGets).toEqual([
      {
        RequestItems: {
          [TABLE]: {
            Keys: [
              ORDER_IDS.reserved,
              ORDER_IDS.batchValidated,
              ORDER_IDS.outOfStock,
              ORDER_IDS.released,
              ORDER_IDS.batchFailed,
            ].map((orderId) => ({ pk: `RESERVATION#${orderId}` })),
            ConsistentRead: true,
          },
        },
      },
    ]);
    // Only an order's second record in the batch reads again, so it sees what the first one wrote.
    expect(ddb.commandCalls(GetCommand).map((c) => c.args[0].input.Key?.pk)).toEqual([
      `RESERVATION#${ORDER_IDS.reserved}`,
      `RESERVATION#${ORDER_IDS.released}`,
    ]);
    // Two reservations, the out-of-stock attempt, the released order's reservation and its release.
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(5);
  });

  it('ends every order of a batch exactly as handling its records one by one does', async () => {
    // Prepare
    const batched = setup();
    const batchedRun = await batched.handler(everyPathBatch(), context);
    const batchedTable = new Map(table);
    const batchedEvents = await batched.produced();
    ddb.reset();
    table = new FakeTable().serve(ddb);
    seedStock({ 'SKU-RED-MUG': 10, 'SKU-TEA-250G': 5 });
    const single = setup();

    // Act
    const singleRuns = [];
    for (const event of oneByOne(everyPathBatch())) singleRuns.push(await single.handler(event, context));

    // Assess: same stock, same markers, same events, and the first order's stock taken once.
    expect(batchedRun).toEqual({ batchItemFailures: [] });
    expect(singleRuns.every((r) => r.batchItemFailures.length === 0)).toBe(true);
    expect(batchedTable).toEqual(new Map(table));
    expect(batchedEvents).toEqual(await single.produced());
    expect(batchedTable.get(`RESERVATION#${ORDER_IDS.released}`)).toMatchObject({ status: 'RELEASED' });
    expect(batchedTable.get(`RESERVATION#${ORDER_IDS.outOfStock}`)).toMatchObject({ status: 'REJECTED' });
    expect(batchedTable.get(`RESERVATION#${ORDER_IDS.batchFailed}`)).toMatchObject({ status: 'CANCELLED' });
    // Stock never taken twice: what is left plus what the RESERVED markers hold is what there was.
    const held = (sku: string) =>
      [...batchedTable.values()]
        .filter((item) => item.status === 'RESERVED')
        .flatMap((item) => item.lines as { sku: string; quantity: number }[])
        .filter((l) => l.sku === sku)
        .reduce((sum, l) => sum + l.quantity, 0);
    expect(Number(batchedTable.get('SKU#SKU-RED-MUG')?.available) + held('SKU-RED-MUG')).toBe(10);
    expect(Number(batchedTable.get('SKU#SKU-TEA-250G')?.available) + held('SKU-TEA-250G')).toBe(5);
    expect(batchedEvents.map((e) => [e.type, e.orderId])).toEqual([
      ['InventoryReserved', ORDER_IDS.reserved],
      ['InventoryReserved', ORDER_IDS.reserved],
      ['InventoryReserved', ORDER_IDS.batchValidated],
      ['InventoryRejected', ORDER_IDS.outOfStock],
      ['InventoryReserved', ORDER_IDS.released],
      ['InventoryReleased', ORDER_IDS.released],
    ]);
  });

  it('reads a marker DynamoDB left unprocessed in the batch read on its own', async () => {
    // Prepare
    const { handler, produced } = setup();
    ddb.on(BatchGetCommand).callsFakeOnce((input: BatchGetCommandInput) => ({
      Responses: { [TABLE]: [] },
      UnprocessedKeys: { [TABLE]: { Keys: input.RequestItems?.[TABLE]?.Keys } },
    }));

    // Act
    const response = await handler(fixture('order-validated'), context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ddb.commandCalls(GetCommand).map((c) => c.args[0].input)).toEqual([
      { TableName: TABLE, Key: { pk: `RESERVATION#${ORDER_IDS.reserved}` }, ConsistentRead: true },
    ]);
    expect(stockOf('SKU-RED-MUG')).toBe(8);
    expect((await produced()).map((e) => e.type)).toEqual(['InventoryReserved']);
  });

  it('merges duplicate SKU lines into one update per SKU', async () => {
    // Prepare
    const { handler } = setup();

    // Act
    await handler(fixture('order-validated-duplicate-skus'), context);

    // Assess
    const items = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items.map((i) => i.Update?.Key?.pk ?? i.Put?.Item?.pk)).toEqual([
      `RESERVATION#${ORDER_IDS.duplicateSkus}`,
      'SKU#SKU-RED-MUG',
      'SKU#SKU-TEA-250G',
    ]);
    expect(stockOf('SKU-RED-MUG')).toBe(6);
  });

  it('rejects an order short of stock, takes nothing and records the SKUs from the cancellation reasons', async () => {
    // Prepare
    const { handler, produced } = setup();

    // Act
    const response = await handler(fixture('order-validated-out-of-stock'), context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(stockOf('SKU-RED-MUG')).toBe(10);
    expect(stockOf('SKU-TEA-250G')).toBe(5);
    expect(table.has('SKU#SKU-GONE')).toBe(false);
    expect(ddb.commandCalls(PutCommand)[0]?.args[0].input).toEqual(
      reservationCreated(ORDER_IDS.outOfStock, {
        lines: [
          { sku: 'SKU-RED-MUG', quantity: 500 },
          { sku: 'SKU-TEA-250G', quantity: 1 },
          { sku: 'SKU-GONE', quantity: 1 },
        ],
        status: 'REJECTED',
        rejectedAt: NOW + 1,
        skus: ['SKU-GONE', 'SKU-RED-MUG'],
      }),
    );
    expect(await produced()).toEqual([
      {
        type: 'InventoryRejected',
        eventId: derivedId('reserve-inventory', ORDER_IDS.outOfStock, 'InventoryRejected'),
        orderId: ORDER_IDS.outOfStock,
        occurredAt: NOW + 1,
        correlationId: fixtureCorrelation(ORDER_IDS.outOfStock),
        reason: 'OUT_OF_STOCK',
        skus: ['SKU-GONE', 'SKU-RED-MUG'],
      },
    ]);
  });

  it('re-emits the identical record on redelivery without a second transaction', async () => {
    // Prepare
    const { handler, kafka } = setup();
    await handler(fixture('order-validated'), context);

    // Act
    const response = await handler(fixture('order-validated'), context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
    expect(stockOf('SKU-RED-MUG')).toBe(8);
    expect(kafka.records).toHaveLength(2);
    expect(kafka.records[1]).toEqual(kafka.records[0]);
  });

  it('releases the stock of a failed payment exactly once', async () => {
    // Prepare
    const { handler, kafka, codec } = setup();
    await handler(fixture('release-order-validated'), context);

    // Act
    await handler(fixture('release-payment-failed'), context);
    const response = await handler(fixture('release-payment-failed'), context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const transactions = ddb.commandCalls(TransactWriteCommand);
    expect(transactions).toHaveLength(2);
    expect(transactions[1]?.args[0].input.TransactItems?.[0]).toEqual({
      Update: {
        TableName: TABLE,
        Key: { pk: `RESERVATION#${ORDER_IDS.released}` },
        UpdateExpression: 'SET #status = :released, releasedAt = :at, releaseReason = :reason',
        ConditionExpression: '#status = :reserved',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':released': 'RELEASED',
          ':reserved': 'RESERVED',
          ':at': NOW + 1,
          ':reason': 'PAYMENT_DECLINED',
        },
      },
    });
    expect(transactions[1]?.args[0].input.TransactItems?.[1]).toEqual({
      Update: {
        TableName: TABLE,
        Key: { pk: 'SKU#SKU-RED-MUG' },
        UpdateExpression: 'ADD #available :q',
        ExpressionAttributeNames: { '#available': 'available' },
        ExpressionAttributeValues: { ':q': 2 },
      },
    });
    expect(stockOf('SKU-RED-MUG')).toBe(10);
    expect(stockOf('SKU-TEA-250G')).toBe(5);
    const events = await kafka.eventsOn(codec, TOPICS.INVENTORY_EVENTS);
    expect(events.map((e) => e.type)).toEqual(['InventoryReserved', 'InventoryReleased', 'InventoryReleased']);
    expect(events[1]).toMatchObject({ reason: 'PAYMENT_DECLINED', occurredAt: NOW + 1 });
    expect(kafka.records[2]).toEqual(kafka.records[1]);
  });

  it('cancels an order whose payment failed before it was seen, so its OrderValidated takes nothing', async () => {
    // Prepare
    const { handler, produced } = setup();

    // Act
    await handler(fixture('failed-first-payment-failed'), context);
    const response = await handler(fixture('failed-first-order-validated'), context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ddb.commandCalls(PutCommand)[0]?.args[0].input).toEqual(
      reservationCreated(ORDER_IDS.failedFirst, { lines: [], status: 'CANCELLED', cancelledAt: NOW }),
    );
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
    expect(stockOf('SKU-RED-MUG')).toBe(10);
    expect(await produced()).toEqual([]);
  });

  it('handles a batch across partitions and topics, ignoring event types it does not consume', async () => {
    // Prepare
    const { handler, produced } = setup();

    // Act
    const response = await handler(fixture('mixed-batch'), context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(table.get(`RESERVATION#${ORDER_IDS.batchValidated}`)).toMatchObject({ status: 'RESERVED' });
    expect(table.get(`RESERVATION#${ORDER_IDS.batchFailed}`)).toMatchObject({ status: 'CANCELLED' });
    expect((await produced()).map((e) => [e.type, e.orderId])).toEqual([
      ['InventoryReserved', ORDER_IDS.batchValidated],
    ]);
  });

  it('fails the record when DynamoDB throttles its reads, and its retry reserves once', async () => {
    // Prepare: the batch read fails (the records read one by one), then the record's own read.
    const { handler, produced } = setup();
    ddb.on(BatchGetCommand).rejectsOnce(throttled()).callsFake(table.batchGetItem);
    ddb.on(GetCommand).rejectsOnce(throttled()).callsFake(table.getItem);

    // Act
    const failed = await handler(fixture('order-validated'), context);
    const retried = await handler(fixture('order-validated'), context);

    // Assess
    expect(failed).toEqual({
      batchItemFailures: [batchItemFailure(TOPICS.ORDERS_VALIDATED, 1, 10)],
    });
    expect(retried).toEqual({ batchItemFailures: [] });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
    expect((await produced()).map((e) => e.type)).toEqual(['InventoryReserved']);
  });

  it('fails the record when the transaction is cancelled by a conflict, taking nothing', async () => {
    // Prepare
    const { handler, produced } = setup();
    ddb.on(TransactWriteCommand).rejectsOnce(transactionCancelled('None', 'TransactionConflict', 'None'));

    // Act
    const response = await handler(fixture('order-validated'), context);

    // Assess
    expect(response).toEqual({
      batchItemFailures: [batchItemFailure(TOPICS.ORDERS_VALIDATED, 1, 10)],
    });
    expect(table.has(`RESERVATION#${ORDER_IDS.reserved}`)).toBe(false);
    expect(stockOf('SKU-RED-MUG')).toBe(10);
    expect(await produced()).toEqual([]);
  });

  it('re-emits the same event when Kafka failed after the reservation was written', async () => {
    // Prepare
    const { handler, kafka, produced } = setup();
    kafka.failNextSend = Object.assign(new Error('broker away'), { name: 'KafkaJSConnectionError' });

    // Act
    const failed = await handler(fixture('order-validated'), context);
    const retried = await handler(fixture('order-validated'), context);

    // Assess
    expect(failed.batchItemFailures).toHaveLength(1);
    expect(retried).toEqual({ batchItemFailures: [] });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
    expect(stockOf('SKU-RED-MUG')).toBe(8);
    expect(await produced()).toEqual([expect.objectContaining({ type: 'InventoryReserved', occurredAt: NOW })]);
  });

  it('dead-letters poison records and reserves the good order behind them', async () => {
    // Prepare
    const { handler, kafka, produced } = setup();

    // Act
    const response = await handler(fixture('poison'), context);

    // Assess
    expectPoisonDeadLettered(response, kafka, 'reserve-inventory');
    expect((await produced()).map((e) => e.orderId)).toEqual([ORDER_IDS.poison]);
  });
});
