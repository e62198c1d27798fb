import { readdirSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandInput,
  type PutEventsCommandOutput,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { ORDER_IDS } from '../../events/order-status/generate.js';
import { orderStatusChangedDetail, orderTransitionDetail } from '../../shared/bus.js';
import type { MskEvent, MskRecord } from '../../shared/msk.js';
import { testContext } from '../../shared/testing/context.js';
import { conditionFailed, FakeTable, transactionCancelled } from '../../shared/testing/fake-table.js';
import { batchItemFailure, loadEvent, MemoryKafka, recordedCodec } from '../../shared/testing/fixtures.js';
import { EVENT_SOURCE, STATUS_CHANGED_DETAIL_TYPE, TOPICS } from '../../shared/topology.js';
import { eventBridgePublisher } from './bus-publisher.js';
import type { OrderStatusItem } from './order-status.js';
import { createHandler } from './order-status-handler.js';
import { dynamoOrderStore } from './order-status-store.js';

const TABLE = 'orderflow-order-status';
const BUS = 'orderflow-test';
const NOW = new Date('2026-11-21T10:00:00.000Z');
const context = testContext('order-status');

const ddb = mockClient(DynamoDBDocumentClient);
const eventBridge = mockClient(EventBridgeClient);
/** The ORDER_STATUS table behind the mocked document client, honouring the adapter's conditions. */
let table: FakeTable<OrderStatusItem>;

function setup() {
  const kafka = new MemoryKafka();
  const handler = createHandler({
    codec: recordedCodec(),
    deadLetters: kafka.deadLetterSink,
    store: dynamoOrderStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), TABLE),
    bus: eventBridgePublisher(new EventBridgeClient({}), BUS),
    clock: () => NOW,
  });
  const invoke = (event: MskEvent) => handler(event, context);
  /** Delivers every step of a scenario folder, in order; returns each invocation's response. */
  const deliver = async (scenario: string) => {
    const files = readdirSync(new URL(`../../events/order-status/${scenario}/`, import.meta.url)).sort();
    const responses = [];
    for (const file of files) responses.push(await invoke(loadEvent<MskEvent>(`order-status/${scenario}/${file}`)));
    return responses;
  };
  return { kafka, invoke, deliver };
}

/** Every entry put on the bus, status changes included. */
function allEntries(): PutEventsRequestEntry[] {
  return eventBridge.commandCalls(PutEventsCommand).flatMap((call) => call.args[0].input.Entries ?? []);
}

/** The final transitions put on the bus (OrderConfirmed, OrderCancelled, OrderRejected). */
function putEntries(): PutEventsRequestEntry[] {
  return allEntries().filter((e) => e.DetailType !== STATUS_CHANGED_DETAIL_TYPE);
}

/** PutEvents calls that carried a final transition. */
function finalPutCalls(): number {
  return eventBridge
    .commandCalls(PutEventsCommand)
    .filter((call) => (call.args[0].input.Entries ?? []).some((e) => e.DetailType !== STATUS_CHANGED_DETAIL_TYPE))
    .length;
}

/**
 * The batch fixtures of `scenarios` as one MSK event: their records side by side on each topic-partition, the
 * offsets renumbered from 100 so that each record has its own.
 */
function mergedBatch(...scenarios: string[]): MskEvent {
  const events = scenarios.map((s) => loadEvent<MskEvent>(`order-status/${s}-batch.json`));
  const records: Record<string, MskRecord[]> = {};
  for (const event of events) {
    for (const [partition, list] of Object.entries(event.records)) {
      const merged = records[partition] ?? [];
      for (const record of list) merged.push({ ...record, offset: 100 + merged.length });
      records[partition] = merged;
    }
  }
  return { ...(events[0] as MskEvent), records };
}

/** Answers PutEvents with `failure` the first time a call carries a final transition, and accepts all else. */
function failFirstFinalPut(failure: () => Promise<PutEventsCommandOutput>): void {
  let failed = false;
  eventBridge.on(PutEventsCommand).callsFake(async (input: PutEventsCommandInput) => {
    const final = (input.Entries ?? []).some((e) => e.DetailType !== STATUS_CHANGED_DETAIL_TYPE);
    if (final && !failed) {
      failed = true;
      return failure();
    }
    return { FailedEntryCount: 0, Entries: (input.Entries ?? []).map(() => ({ EventId: 'eb-ok' })) };
  });
}

function itemOf(orderId: string): OrderStatusItem {
  const item = table.get(orderId);
  if (!item) throw new Error(`no item for ${orderId}`);
  return item;
}

beforeEach(() => {
  ddb.reset();
  eventBridge.reset();
  table = new FakeTable<OrderStatusItem>('orderId').serve(ddb);
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'eb-1' }] });
});

describe('order-status handler', () => {
  it('confirms the happy path and puts OrderConfirmed on the bus once', async () => {
    // Prepare
    const { deliver } = setup();

    // Act
    const responses = await deliver('happy-path');

    // Assess
    expect(responses).toEqual(Array(4).fill({ batchItemFailures: [] }));
    const entries = putEntries();
    expect(entries).toHaveLength(1);
    const [entry] = entries;
    expect(entry).toMatchObject({ Source: EVENT_SOURCE, DetailType: 'OrderConfirmed', EventBusName: BUS });
    const detail = orderTransitionDetail.parse(JSON.parse(entry?.Detail ?? '{}'));
    expect(detail).toEqual({
      orderId: ORDER_IDS.happy,
      transitionId: `${ORDER_IDS.happy}:CONFIRMED`,
      status: 'CONFIRMED',
      customerId: 'cust-42',
      email: 'ada.lovelace@example.com',
      currency: 'EUR',
      totalCents: 3399,
      items: [
        { sku: 'SKU-RED-MUG', quantity: 2 },
        { sku: 'SKU-TEA-250G', quantity: 1 },
      ],
      occurredAt: '2025-11-21T04:40:03.000Z',
      correlationId: expect.any(String),
    });
    expect(entry?.Time).toEqual(new Date('2025-11-21T04:40:03.000Z'));
    expect(itemOf(ORDER_IDS.happy)).toMatchObject({
      status: 'CONFIRMED',
      history: [
        { status: 'PLACED', at: '2025-11-21T04:40:00.000Z' },
        { status: 'VALIDATED', at: '2025-11-21T04:40:01.000Z' },
        { status: 'CONFIRMED', at: '2025-11-21T04:40:03.000Z' },
      ],
      pendingPublications: [],
      publishedTransitionIds: [`${ORDER_IDS.happy}:CONFIRMED`],
      updatedAt: NOW.toISOString(),
    });
  });

  it('reads consistently and writes conditionally on the version it read', async () => {
    // Prepare
    const { deliver } = setup();

    // Act
    await deliver('happy-path');

    // Assess: one order per batch, so one GetItem and single PutItems (a transaction of one costs double).
    const reads = ddb.commandCalls(GetCommand).map((c) => c.args[0].input);
    const puts = ddb.commandCalls(PutCommand).map((c) => c.args[0].input);
    expect(reads[0]).toEqual({ TableName: TABLE, Key: { orderId: ORDER_IDS.happy }, ConsistentRead: true });
    expect(puts[0]).toMatchObject({ TableName: TABLE, ConditionExpression: 'attribute_not_exists(orderId)' });
    expect(puts[1]).toMatchObject({
      TableName: TABLE,
      ConditionExpression: '#version = :expected',
      ExpressionAttributeNames: { '#version': 'version' },
      ExpressionAttributeValues: { ':expected': 1 },
      Item: expect.objectContaining({ version: 2 }),
    });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it('puts an OrderStatusChanged on the bus for every transition, without PII', async () => {
    // Prepare
    const { deliver } = setup();

    // Act
    await deliver('happy-path');

    // Assess
    const changes = allEntries().filter((e) => e.DetailType === STATUS_CHANGED_DETAIL_TYPE);
    const details = changes.map((e) => orderStatusChangedDetail.parse(JSON.parse(e.Detail ?? '{}')));
    expect(details.map((d) => [d.previousStatus, d.status])).toEqual([
      [undefined, 'PLACED'],
      ['PLACED', 'VALIDATED'],
      ['VALIDATED', 'CONFIRMED'],
    ]);
    expect(details.map((d) => d.transitionId)).toEqual(
      ['PLACED', 'VALIDATED', 'CONFIRMED'].map((s) => `${ORDER_IDS.happy}:${s}`),
    );
    expect(changes.every((e) => !e.Detail?.includes('@'))).toBe(true);
    expect(itemOf(ORDER_IDS.happy).pendingStatusChanges).toEqual([]);
  });

  it('confirms the happy path delivered as one batch', async () => {
    // Prepare
    const { invoke } = setup();

    // Act
    const response = await invoke(loadEvent<MskEvent>('order-status/happy-path-batch.json'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(itemOf(ORDER_IDS.happy).status).toBe('CONFIRMED');
    expect(putEntries().map((e) => e.DetailType)).toEqual(['OrderConfirmed']);
  });

  it('folds the records of one order in a batch into one write, and publishes its entries in one PutEvents', async () => {
    // Prepare
    const { invoke } = setup();

    // Act
    await invoke(loadEvent<MskEvent>('order-status/happy-path-batch.json'));

    // Assess: four records of one order: one read, one write of all four, one PutEvents, one clearing write.
    expect(ddb.commandCalls(GetCommand)).toHaveLength(1);
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(0);
    const puts = ddb.commandCalls(PutCommand).map((c) => c.args[0].input);
    expect(puts).toHaveLength(2);
    expect(puts[0]).toMatchObject({ ConditionExpression: 'attribute_not_exists(orderId)', Item: { version: 1 } });
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(1);
    expect(allEntries().map((e) => e.DetailType)).toEqual([
      STATUS_CHANGED_DETAIL_TYPE,
      STATUS_CHANGED_DETAIL_TYPE,
      STATUS_CHANGED_DETAIL_TYPE,
      'OrderConfirmed',
    ]);
    expect(itemOf(ORDER_IDS.happy)).toMatchObject({ version: 2, pendingPublications: [], pendingStatusChanges: [] });
    expect(itemOf(ORDER_IDS.happy).appliedEventIds).toHaveLength(4);
  });

  it('handles a batch of several orders in one BatchGetItem, two TransactWriteItems and one PutEvents per 10', async () => {
    // Prepare: four orders, 15 records, 15 bus entries (4 + 3 + 4 + 4).
    const { invoke } = setup();
    const batch = mergedBatch('happy-path', 'rejected', 'payment-declined', 'payment-before-validation');

    // Act
    const response = await invoke(batch);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(1);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
    const transactions = ddb.commandCalls(TransactWriteCommand).map((c) => c.args[0].input.TransactItems ?? []);
    expect(transactions.map((items) => items.length)).toEqual([4, 4]);
    expect(transactions[0]?.every((i) => i.Put?.ConditionExpression === 'attribute_not_exists(orderId)')).toBe(true);
    expect(transactions[1]?.map((i) => i.Put?.ExpressionAttributeValues)).toEqual(Array(4).fill({ ':expected': 1 }));
    const calls = eventBridge.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries?.length);
    expect(calls).toEqual([10, 5]);
    expect(putEntries().map((e) => e.DetailType)).toEqual([
      'OrderConfirmed',
      'OrderCancelled',
      'OrderConfirmed',
      'OrderRejected',
    ]);
    expect(itemOf(ORDER_IDS.happy).status).toBe('CONFIRMED');
    expect(itemOf(ORDER_IDS.rejected).status).toBe('REJECTED');
    expect(itemOf(ORDER_IDS.declined).status).toBe('CANCELLED');
    expect(itemOf(ORDER_IDS.paymentFirst).status).toBe('CONFIRMED');
    for (const orderId of [ORDER_IDS.happy, ORDER_IDS.rejected, ORDER_IDS.declined, ORDER_IDS.paymentFirst]) {
      expect(itemOf(orderId)).toMatchObject({ version: 2, pendingPublications: [], pendingStatusChanges: [] });
    }
  });

  it('re-reads, re-folds and writes again the one order a concurrent writer moved when the transaction is cancelled', async () => {
    // Prepare: another invocation records the rejected order's placement between our read and our write.
    const { invoke } = setup();
    const batch = mergedBatch('happy-path', 'rejected');
    const placedElsewhere = loadEvent<MskEvent>('order-status/rejected/1-order-placed.json');
    let cancelled = false;
    let readsBefore = 0;
    ddb.on(TransactWriteCommand).callsFake(async (input) => {
      if (!cancelled) {
        cancelled = true;
        await setup().invoke(placedElsewhere);
        readsBefore = ddb.commandCalls(GetCommand).length;
      }
      return table.transactWrite(input);
    });

    // Act
    const response = await invoke(batch);

    // Assess: the first transaction is cancelled for the rejected order alone; the happy order goes again as is,
    // alone (a PutItem), and the rejected order is re-read and written on top of the other writer's version.
    expect(response).toEqual({ batchItemFailures: [] });
    expect(itemOf(ORDER_IDS.happy)).toMatchObject({ status: 'CONFIRMED', pendingPublications: [] });
    expect(itemOf(ORDER_IDS.rejected)).toMatchObject({ status: 'REJECTED', pendingPublications: [] });
    expect(itemOf(ORDER_IDS.rejected).appliedEventIds).toHaveLength(2);
    expect(itemOf(ORDER_IDS.rejected).history.map((h) => h.status)).toEqual(['PLACED', 'REJECTED']);
    const reads = ddb.commandCalls(GetCommand).slice(readsBefore);
    expect(reads.map((c) => c.args[0].input.Key)).toEqual([{ orderId: ORDER_IDS.rejected }]);
    const changes = allEntries()
      .filter((e) => e.DetailType === STATUS_CHANGED_DETAIL_TYPE)
      .map((e) => JSON.parse(e.Detail ?? '{}').transitionId);
    expect(changes.filter((id) => id === `${ORDER_IDS.rejected}:PLACED`)).toHaveLength(1);
    expect(putEntries().map((e) => e.DetailType)).toEqual(['OrderConfirmed', 'OrderRejected']);
  });

  it('fails only the records of an order whose transaction kept being cancelled for another reason', async () => {
    // Prepare: DynamoDB throttles the rejected order's item inside the transaction.
    const { invoke } = setup();
    const batch = mergedBatch('happy-path', 'rejected');
    ddb.on(TransactWriteCommand).callsFake(async (input) => {
      const items = input.TransactItems ?? [];
      const codes = items.map((i: { Put?: { Item?: Record<string, unknown> } }) =>
        i.Put?.Item?.orderId === ORDER_IDS.rejected ? 'ThrottlingError' : 'None',
      );
      if (codes.includes('ThrottlingError')) throw transactionCancelled(...codes);
      return table.transactWrite(input);
    });

    // Act
    const response = await invoke(batch);

    // Assess: the rejected order's two records (orders.raw-2@101, orders.validated-2@101) are retried.
    expect(response.batchItemFailures).toEqual([
      batchItemFailure(TOPICS.ORDERS_RAW, 2, 101),
      batchItemFailure(TOPICS.ORDERS_VALIDATED, 2, 101),
    ]);
    expect(itemOf(ORDER_IDS.happy)).toMatchObject({ status: 'CONFIRMED', pendingPublications: [] });
    expect(table.get(ORDER_IDS.rejected)).toBeUndefined();
    expect(putEntries().map((e) => e.DetailType)).toEqual(['OrderConfirmed']);
  });

  it('falls back to one record at a time for an order DynamoDB refuses as invalid, dead-lettering only that record', async () => {
    // Prepare: the rejected order's item is refused once it holds the rejection (as an item over 400 KB would be).
    const { invoke, kafka } = setup();
    const invalid = Object.assign(new Error('Item size has exceeded the maximum allowed size'), {
      name: 'ValidationException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    const refused = (item: Record<string, unknown> | undefined) =>
      item?.orderId === ORDER_IDS.rejected && item.status === 'REJECTED';
    ddb.on(TransactWriteCommand).callsFake(async (input) => {
      const codes = (input.TransactItems ?? []).map((i: { Put?: { Item?: Record<string, unknown> } }) =>
        refused(i.Put?.Item) ? 'ValidationError' : 'None',
      );
      if (codes.includes('ValidationError')) throw transactionCancelled(...codes);
      return table.transactWrite(input);
    });
    ddb.on(PutCommand).callsFake(async (input) => {
      if (refused(input.Item)) throw invalid;
      return table.putItem(input);
    });

    // Act
    const response = await invoke(mergedBatch('happy-path', 'rejected'));

    // Assess: the placement is recorded on its own, the rejection dead-lettered; the happy order is untouched.
    expect(response).toEqual({ batchItemFailures: [] });
    expect(kafka.deadLetters.map((d) => [d.headers['dlq-source-topic'], d.headers['dlq-reason']])).toEqual([
      [TOPICS.ORDERS_VALIDATED, 'PROCESSING_ERROR'],
    ]);
    expect(itemOf(ORDER_IDS.rejected)).toMatchObject({ status: 'PLACED', pendingStatusChanges: [] });
    expect(itemOf(ORDER_IDS.happy)).toMatchObject({ status: 'CONFIRMED', pendingPublications: [] });
  });

  it('confirms once when the payment arrives before the validation', async () => {
    // Prepare
    const { deliver } = setup();

    // Act
    await deliver('payment-before-validation');

    // Assess
    expect(itemOf(ORDER_IDS.paymentFirst).status).toBe('CONFIRMED');
    const entries = putEntries();
    expect(entries.map((e) => e.DetailType)).toEqual(['OrderConfirmed']);
    expect(JSON.parse(entries[0]?.Detail ?? '{}')).toMatchObject({ totalCents: 3399, currency: 'EUR' });
  });

  it('cancels with OUT_OF_STOCK when the stock-out arrives before the order, and ignores the late payment', async () => {
    // Prepare
    const { invoke } = setup();
    const step = (file: string) => invoke(loadEvent<MskEvent>(`order-status/stock-out-before-placed/${file}`));

    // Act
    await step('1-inventory-rejected.json');
    const callsBeforeOrderData = putEntries().length;
    await step('2-order-placed.json');
    await step('3-order-validated.json');
    await step('4-payment-processed.json');
    await step('5-payment-refunded.json');

    // Assess
    expect(callsBeforeOrderData).toBe(0);
    expect(itemOf(ORDER_IDS.stockOutFirst)).toMatchObject({ status: 'CANCELLED', reason: 'OUT_OF_STOCK' });
    const entries = putEntries();
    expect(entries.map((e) => e.DetailType)).toEqual(['OrderCancelled']);
    expect(JSON.parse(entries[0]?.Detail ?? '{}')).toMatchObject({
      transitionId: `${ORDER_IDS.stockOutFirst}:CANCELLED`,
      status: 'CANCELLED',
      reason: 'OUT_OF_STOCK',
      email: 'ada.lovelace@example.com',
    });
  });

  it('cancels with PAYMENT_DECLINED when the payment is declined', async () => {
    // Prepare
    const { deliver } = setup();

    // Act
    await deliver('payment-declined');

    // Assess
    expect(itemOf(ORDER_IDS.declined)).toMatchObject({ status: 'CANCELLED', reason: 'PAYMENT_DECLINED' });
    expect(itemOf(ORDER_IDS.declined).facts.inventoryReleased).toBeDefined();
    const entries = putEntries();
    expect(entries.map((e) => e.DetailType)).toEqual(['OrderCancelled']);
    expect(JSON.parse(entries[0]?.Detail ?? '{}')).toMatchObject({ reason: 'PAYMENT_DECLINED' });
  });

  it('rejects the order and puts OrderRejected on the bus', async () => {
    // Prepare
    const { deliver } = setup();

    // Act
    await deliver('rejected');

    // Assess
    expect(itemOf(ORDER_IDS.rejected)).toMatchObject({ status: 'REJECTED', reason: 'UNKNOWN_SKU' });
    const entries = putEntries();
    expect(entries.map((e) => e.DetailType)).toEqual(['OrderRejected']);
    expect(orderTransitionDetail.parse(JSON.parse(entries[0]?.Detail ?? '{}'))).toMatchObject({
      status: 'REJECTED',
      reason: 'UNKNOWN_SKU',
      currency: 'EUR',
      items: [
        { sku: 'SKU-RED-MUG', quantity: 2 },
        { sku: 'SKU-TEA-250G', quantity: 1 },
      ],
    });
  });

  it('publishes and writes nothing when a batch is delivered again', async () => {
    // Prepare
    const { invoke } = setup();
    await invoke(loadEvent<MskEvent>('order-status/happy-path-batch.json'));
    const puts = ddb.commandCalls(PutCommand).length;
    const entries = allEntries().length;

    // Act
    const response = await invoke(loadEvent<MskEvent>('order-status/happy-path-batch.json'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ddb.commandCalls(PutCommand)).toHaveLength(puts);
    expect(putEntries()).toHaveLength(1);
    expect(allEntries()).toHaveLength(entries);
  });

  it('reports the record when PutEvents fails, and the retry publishes once', async () => {
    // Prepare
    const { invoke } = setup();
    failFirstFinalPut(() => Promise.reject(new Error('ServiceUnavailable')));
    const batch = () => loadEvent<MskEvent>('order-status/happy-path-batch.json');

    // Act
    const failed = await invoke(batch());
    const pendingAfterFailure = itemOf(ORDER_IDS.happy).pendingPublications.length;
    const retried = await invoke(batch());
    const redelivered = await invoke(batch());

    // Assess: the PaymentProcessed record (payment.events-2@100) completes the order and is the one retried.
    expect(failed).toEqual({
      batchItemFailures: [batchItemFailure(TOPICS.PAYMENT_EVENTS, 2, 100)],
    });
    expect(pendingAfterFailure).toBe(1);
    expect(retried).toEqual({ batchItemFailures: [] });
    expect(redelivered).toEqual({ batchItemFailures: [] });
    expect(finalPutCalls()).toBe(2);
    expect(itemOf(ORDER_IDS.happy)).toMatchObject({
      status: 'CONFIRMED',
      pendingPublications: [],
      publishedTransitionIds: [`${ORDER_IDS.happy}:CONFIRMED`],
    });
  });

  it('reports the record when EventBridge accepts the call but fails the entry', async () => {
    // Prepare
    const { invoke } = setup();
    let failed = false;
    eventBridge.on(PutEventsCommand).callsFake(async (input: PutEventsCommandInput) => {
      const entries = input.Entries ?? [];
      const final = (e: PutEventsRequestEntry) => e.DetailType !== STATUS_CHANGED_DETAIL_TYPE;
      const fail = !failed && entries.some(final);
      failed ||= fail;
      return {
        FailedEntryCount: fail ? 1 : 0,
        Entries: entries.map((e) =>
          fail && final(e) ? { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' } : { EventId: 'eb-ok' },
        ),
      };
    });

    // Act
    const first = await invoke(loadEvent<MskEvent>('order-status/happy-path-batch.json'));
    const pendingAfterFailure = itemOf(ORDER_IDS.happy);
    const retried = await invoke(loadEvent<MskEvent>('order-status/happy-path-batch.json'));

    // Assess: the status changes the bus took were cleared at once; only OrderConfirmed was pending and sent again.
    expect(first).toEqual({ batchItemFailures: [batchItemFailure(TOPICS.PAYMENT_EVENTS, 2, 100)] });
    expect(pendingAfterFailure.pendingStatusChanges).toEqual([]);
    expect(pendingAfterFailure.pendingPublications.map((p) => p.status)).toEqual(['CONFIRMED']);
    expect(retried.batchItemFailures).toEqual([]);
    expect(itemOf(ORDER_IDS.happy).pendingPublications).toEqual([]);
    expect(finalPutCalls()).toBe(2);
    expect(allEntries().filter((e) => e.DetailType === STATUS_CHANGED_DETAIL_TYPE)).toHaveLength(3);
  });

  it('re-reads and retries when a concurrent write wins the condition', async () => {
    // Prepare
    const { invoke } = setup();
    ddb.on(PutCommand).rejectsOnce(conditionFailed()).callsFake(table.putItem);

    // Act
    const response = await invoke(loadEvent<MskEvent>('order-status/happy-path/1-order-placed.json'));

    // Assess: read, conflict, read again, write.
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(2);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(3);
    expect(itemOf(ORDER_IDS.happy).status).toBe('PLACED');
  });

  it('fails when DynamoDB is throttled: the records of the order it could not read are retried', async () => {
    // Prepare: the batch read is throttled, and so is the first one-by-one read.
    const { invoke } = setup();
    const batch = () => mergedBatch('stock-out-before-placed', 'happy-path');
    // As the SDK throws them: a service exception carries the response's `$metadata`.
    ddb
      .on(BatchGetCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: {} }))
      .callsFake(table.batchGetItem);
    ddb
      .on(GetCommand, { Key: { orderId: ORDER_IDS.stockOutFirst } })
      .rejectsOnce(
        Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException', $metadata: {} }),
      )
      .callsFake(table.getItem);

    // Act
    const response = await invoke(batch());
    const retried = await invoke(batch());

    // Assess: every partition holding one of the stock-out order's records is retried from that record; the
    // happy order went through (the rest of its partitions' records are delivered again, and change nothing).
    expect(response.batchItemFailures).toEqual(
      [TOPICS.INVENTORY_EVENTS, TOPICS.ORDERS_RAW, TOPICS.ORDERS_VALIDATED, TOPICS.PAYMENT_EVENTS].map((topic) =>
        batchItemFailure(topic, 2, 100),
      ),
    );
    expect(itemOf(ORDER_IDS.happy).status).toBe('CONFIRMED');
    expect(retried).toEqual({ batchItemFailures: [] });
    expect(itemOf(ORDER_IDS.stockOutFirst)).toMatchObject({ status: 'CANCELLED', reason: 'OUT_OF_STOCK' });
    expect(itemOf(ORDER_IDS.stockOutFirst).appliedEventIds).toHaveLength(5);
    expect(putEntries().map((e) => e.DetailType)).toEqual(['OrderConfirmed', 'OrderCancelled']);
  });

  it('dead-letters poison records and goes on with the partition', async () => {
    // Prepare
    const { invoke, kafka } = setup();

    // Act
    const response = await invoke(loadEvent<MskEvent>('order-status/poison.json'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(kafka.deadLetters.map((d) => [d.headers['dlq-source-offset'], d.headers['dlq-reason']])).toEqual([
      ['40', 'DESERIALIZATION_ERROR'],
      ['41', 'SCHEMA_NOT_FOUND'],
      ['42', 'DESERIALIZATION_ERROR'],
    ]);
    expect(kafka.deadLetters.every((d) => d.headers['dlq-consumer'] === 'order-status')).toBe(true);
    expect(kafka.deadLetters[0]?.headers['dlq-source-topic']).toBe(TOPICS.ORDERS_RAW);
    expect(itemOf(ORDER_IDS.poison).status).toBe('PLACED');
  });
});
