import { readdirSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandInput,
  type PutEventsCommandOutput,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { ORDER_IDS } from '../../events/order-status/generate.js';
import { orderStatusChangedDetail, orderTransitionDetail } from '../../shared/bus.js';
import type { MskEvent } from '../../shared/msk.js';
import { testContext } from '../../shared/testing/context.js';
import { conditionFailed, FakeTable } from '../../shared/testing/fake-table.js';
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

    // Assess
    const reads = ddb.commandCalls(BatchGetCommand).map((c) => c.args[0].input);
    const puts = ddb.commandCalls(PutCommand).map((c) => c.args[0].input);
    expect(reads[0]).toEqual({
      RequestItems: { [TABLE]: { Keys: [{ orderId: ORDER_IDS.happy }], ConsistentRead: true } },
    });
    expect(puts[0]).toMatchObject({ TableName: TABLE, ConditionExpression: 'attribute_not_exists(orderId)' });
    expect(puts[1]).toMatchObject({
      TableName: TABLE,
      ConditionExpression: '#version = :expected',
      ExpressionAttributeNames: { '#version': 'version' },
      ExpressionAttributeValues: { ':expected': 1 },
      Item: expect.objectContaining({ version: 2 }),
    });
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

  it('reads the orders of a batch in one BatchGetItem instead of one GetItem per record', async () => {
    // Prepare
    const { invoke } = setup();

    // Act
    await invoke(loadEvent<MskEvent>('order-status/happy-path-batch.json'));

    // Assess: four records of one order, one read; the writes build on each other.
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(1);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
    expect(itemOf(ORDER_IDS.happy).appliedEventIds).toHaveLength(4);
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
    failFirstFinalPut(async () => ({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }],
      $metadata: {},
    }));

    // Act
    const failed = await invoke(loadEvent<MskEvent>('order-status/happy-path-batch.json'));
    const retried = await invoke(loadEvent<MskEvent>('order-status/happy-path-batch.json'));

    // Assess
    expect(failed.batchItemFailures).toHaveLength(1);
    expect(retried.batchItemFailures).toEqual([]);
    expect(itemOf(ORDER_IDS.happy).pendingPublications).toEqual([]);
    expect(finalPutCalls()).toBe(2);
  });

  it('re-reads and retries when a concurrent write wins the condition', async () => {
    // Prepare
    const { invoke } = setup();
    ddb.on(PutCommand).rejectsOnce(conditionFailed()).callsFake(table.putItem);

    // Act
    const response = await invoke(loadEvent<MskEvent>('order-status/happy-path/1-order-placed.json'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(1);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(1);
    expect(itemOf(ORDER_IDS.happy).status).toBe('PLACED');
  });

  it('fails when DynamoDB is throttled: the record is retried and the rest of its partition waits', async () => {
    // Prepare: the batch read is throttled too, so the records read one by one.
    const { invoke } = setup();
    // As the SDK throws them: a service exception carries the response's `$metadata`.
    ddb
      .on(BatchGetCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: {} }));
    ddb
      .on(GetCommand)
      .rejectsOnce(
        Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException', $metadata: {} }),
      )
      .callsFake(table.getItem);

    // Act: the stock-out batch holds two payment.events records on partition 2.
    const response = await invoke(loadEvent<MskEvent>('order-status/stock-out-before-placed-batch.json'));

    // Assess: inventory.events sorts first, so its record is the one that failed.
    expect(response).toEqual({
      batchItemFailures: [batchItemFailure(TOPICS.INVENTORY_EVENTS, 2, 100)],
    });
    expect(itemOf(ORDER_IDS.stockOutFirst).facts.inventoryRejected).toBeUndefined();
    expect(itemOf(ORDER_IDS.stockOutFirst).appliedEventIds).toHaveLength(4);
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
