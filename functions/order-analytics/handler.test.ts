import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { ORDER_IDS, VALIDATED_AT } from '../../events/order-analytics/generate.js';
import { loadConfig } from '../../shared/config.js';
import { derivedId } from '../../shared/ids.js';
import type { MskEvent } from '../../shared/msk.js';
import { expectConfigRefused, KAFKA_ENV } from '../../shared/testing/config.js';
import { testContext } from '../../shared/testing/context.js';
import { FakeTable, transactionCancelled } from '../../shared/testing/fake-table.js';
import { batchItemFailure, loadEvent, MemoryKafka, recordedCodec } from '../../shared/testing/fixtures.js';
import { captureOutput } from '../../shared/testing/output.js';
import { TOPICS } from '../../shared/topology.js';
import { dynamoAnalyticsStore } from './analytics-store.js';
import { averageOrderValueOf } from './order-analytics.js';
import { createHandler, orderAnalyticsEnv } from './order-analytics-handler.js';

const TABLE = 'orderflow-analytics';

const context = testContext('order-analytics');

const ddb = mockClient(DynamoDBDocumentClient);
/** The ANALYTICS table behind the mocked document client, honouring the transaction's marker condition. */
let table: FakeTable;

/** A `batchItemFailures` entry: Lambda identifies the partition by its `topic-partition` key. */
function failure(partition: number, offset: number) {
  return batchItemFailure(TOPICS.ORDERS_VALIDATED, partition, offset);
}

/** Everything written to stdout and stderr while a test runs: Powertools logs and EMF metrics go there. */
let output: string[];

/** The EMF blobs written so far that carry `metric`. */
function emf(metric: string): Record<string, unknown>[] {
  return output
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.includes('"_aws"') && line.includes(`"${metric}"`))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Sum of every value EMF reported for `metric` (Powertools writes repeated values as an array). */
function emfSum(metric: string): number {
  return emf(metric)
    .flatMap((blob) => [blob[metric]].flat())
    .reduce<number>((sum, v) => sum + Number(v), 0);
}

beforeEach(() => {
  ddb.reset();
  table = new FakeTable().serve(ddb);
  output = captureOutput();
});

afterEach(() => {
  jest.restoreAllMocks();
});

function setup() {
  const kafka = new MemoryKafka();
  const store = dynamoAnalyticsStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), TABLE);
  const handler = createHandler({ codec: recordedCodec(), deadLetters: kafka.deadLetterSink, store });
  const invoke = (event: MskEvent) => handler(event, context);
  return { kafka, invoke, store };
}

function fixture(name: string): MskEvent {
  return loadEvent<MskEvent>(`order-analytics/${name}.json`);
}

function transactInputs(): TransactWriteCommandInput[] {
  return ddb.commandCalls(TransactWriteCommand).map((call) => call.args[0].input);
}

/** The order ids of the markers each transaction put, in order. */
function markerOrderIds(inputs: TransactWriteCommandInput[]): string[][] {
  return inputs.map((input) =>
    (input.TransactItems ?? []).flatMap((item) => (item.Put ? [String(item.Put.Item?.orderId)] : [])),
  );
}

describe('order-analytics handler', () => {
  it('counts the batch with one transaction: every marker, then one ADD per minute bucket and per currency', async () => {
    // Prepare
    const { invoke } = setup();

    // Act
    const response = await invoke(fixture('validated-batch'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const inputs = transactInputs();
    expect(markerOrderIds(inputs)).toEqual([
      [ORDER_IDS.eurEarly, ORDER_IDS.eurLate, ORDER_IDS.gbp, ORDER_IDS.usdNextMinute],
    ]);
    const items = inputs[0]?.TransactItems ?? [];
    expect(items[0]).toEqual({
      Put: {
        TableName: TABLE,
        Item: {
          pk: `ORDER#${ORDER_IDS.eurEarly}`,
          orderId: ORDER_IDS.eurEarly,
          eventId: derivedId('fixture', ORDER_IDS.eurEarly, 'OrderValidated'),
          currency: 'EUR',
          revenueCents: 9897,
          minute: '2025-11-21T04:40',
          validatedAt: VALIDATED_AT.eurEarly,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    });
    const add = (orders: number, revenue: number, currency: string) => ({
      UpdateExpression: 'ADD #orders :one, #revenue :revenue SET #currency = :currency',
      ExpressionAttributeNames: { '#orders': 'orders', '#revenue': 'revenueCents', '#currency': 'currency' },
      ExpressionAttributeValues: { ':one': orders, ':revenue': revenue, ':currency': currency },
    });
    expect(items.slice(4)).toEqual([
      { Update: { TableName: TABLE, Key: { pk: 'MINUTE#2025-11-21T04:40#EUR' }, ...add(2, 9897 + 2495, 'EUR') } },
      { Update: { TableName: TABLE, Key: { pk: 'TOTAL#EUR' }, ...add(2, 9897 + 2495, 'EUR') } },
      { Update: { TableName: TABLE, Key: { pk: 'MINUTE#2025-11-21T04:40#GBP' }, ...add(1, 1099, 'GBP') } },
      { Update: { TableName: TABLE, Key: { pk: 'TOTAL#GBP' }, ...add(1, 1099, 'GBP') } },
      { Update: { TableName: TABLE, Key: { pk: 'MINUTE#2025-11-21T04:41#USD' }, ...add(1, 8097, 'USD') } },
      { Update: { TableName: TABLE, Key: { pk: 'TOTAL#USD' }, ...add(1, 8097, 'USD') } },
    ]);
  });

  it('aggregates per minute of validatedAt and per currency, ignoring OrderRejected', async () => {
    // Prepare
    const { invoke } = setup();

    // Act
    await invoke(fixture('validated-batch'));

    // Assess
    const aggregates = Object.fromEntries(
      [...table].filter(([pk]) => !pk.startsWith('ORDER#')).map(([pk, item]) => [pk, [item.orders, item.revenueCents]]),
    );
    expect(aggregates).toEqual({
      'MINUTE#2025-11-21T04:40#EUR': [2, 9897 + 2495],
      'TOTAL#EUR': [2, 9897 + 2495],
      'MINUTE#2025-11-21T04:40#GBP': [1, 1099],
      'TOTAL#GBP': [1, 1099],
      'MINUTE#2025-11-21T04:41#USD': [1, 8097],
      'TOTAL#USD': [1, 8097],
    });
    expect(table.has(`ORDER#${ORDER_IDS.rejected}`)).toBe(false);
  });

  it('emits OrdersValidated, and Revenue and OrderValue per currency', async () => {
    // Prepare
    const { invoke } = setup();

    // Act
    await invoke(fixture('validated-batch'));

    // Assess
    expect(emfSum('OrdersValidated')).toBe(4);
    const revenue = emf('Revenue');
    expect(revenue.map((blob) => [blob.currency, blob.Revenue])).toEqual([
      ['EUR', 9897],
      ['EUR', 2495],
      ['GBP', 1099],
      ['USD', 8097],
    ]);
    const aws = revenue[0]?._aws as { CloudWatchMetrics: { Dimensions: string[][]; Namespace: string }[] };
    expect(aws.CloudWatchMetrics[0]?.Dimensions[0]).toContain('currency');
    expect(emf('OrderValue').map((blob) => [blob.currency, blob.OrderValue])).toEqual([
      ['EUR', 9897],
      ['EUR', 2495],
      ['GBP', 1099],
      ['USD', 8097],
    ]);
  });

  it('counts nothing twice when the topic is replayed from the beginning', async () => {
    // Prepare
    const { invoke } = setup();
    await invoke(fixture('validated-batch'));
    const afterFirst = structuredClone([...table]);
    const metricsBefore = [emf('Revenue').length, emf('OrderValue').length, emfSum('OrdersValidated')];

    // Act
    const response = await invoke(fixture('validated-batch'));

    // Assess: the batch's transaction ran again and was cancelled on its markers, changing nothing.
    expect(response).toEqual({ batchItemFailures: [] });
    const inputs = transactInputs();
    expect(inputs).toHaveLength(2);
    expect(markerOrderIds(inputs.slice(1))).toEqual(markerOrderIds(inputs.slice(0, 1)));
    expect([...table]).toEqual(afterFirst);
    expect([emf('Revenue').length, emf('OrderValue').length, emfSum('OrdersValidated')]).toEqual(metricsBefore);
    expect(output.join('')).toContain('order already counted; replay ignored');
  });

  it('counts the others when a replayed order cancels the transaction on its marker', async () => {
    // Prepare: the GBP order was counted before (an earlier delivery).
    const { invoke } = setup();
    table.set(`ORDER#${ORDER_IDS.gbp}`, { pk: `ORDER#${ORDER_IDS.gbp}`, orderId: ORDER_IDS.gbp });

    // Act
    const response = await invoke(fixture('validated-batch'));

    // Assess: cancelled once on the GBP marker, then the three others in a second transaction.
    expect(response).toEqual({ batchItemFailures: [] });
    expect(markerOrderIds(transactInputs())).toEqual([
      [ORDER_IDS.eurEarly, ORDER_IDS.eurLate, ORDER_IDS.gbp, ORDER_IDS.usdNextMinute],
      [ORDER_IDS.eurEarly, ORDER_IDS.eurLate, ORDER_IDS.usdNextMinute],
    ]);
    expect(table.get('TOTAL#GBP')).toBeUndefined();
    expect(table.get('TOTAL#EUR')).toMatchObject({ orders: 2, revenueCents: 9897 + 2495 });
    expect(emfSum('OrdersValidated')).toBe(3);
  });

  it('fails when the transaction conflicts: its orders are retried, and counted once', async () => {
    // Prepare: a concurrent update of TOTAL#EUR (another invocation's batch) cancels the first transaction.
    const { invoke } = setup();
    let conflicted = false;
    ddb.on(TransactWriteCommand).callsFake((input: TransactWriteCommandInput) => {
      if (!conflicted) {
        conflicted = true;
        const codes = (input.TransactItems ?? []).map((item) =>
          item.Update?.Key?.pk === 'TOTAL#EUR' ? 'TransactionConflict' : 'None',
        );
        throw transactionCancelled(...codes);
      }
      return table.transactWrite(input);
    });

    // Act
    const first = await invoke(fixture('validated-batch'));
    const reportedAfterFailure = emf('Revenue').length;
    const retry = await invoke(fixture('validated-batch'));

    // Assess: each partition is retried from its first order.
    expect(first).toEqual({ batchItemFailures: [failure(0, 500), failure(1, 700)] });
    expect(reportedAfterFailure).toBe(0);
    expect(retry).toEqual({ batchItemFailures: [] });
    expect(table.get('TOTAL#EUR')).toMatchObject({ orders: 2, revenueCents: 9897 + 2495 });
    expect(emfSum('OrdersValidated')).toBe(4);
  });

  it('fails when DynamoDB is throttled, and the retry counts the order once', async () => {
    // Prepare
    const { invoke } = setup();
    ddb
      .on(TransactWriteCommand)
      .rejectsOnce(
        Object.assign(new Error('Rate exceeded'), {
          name: 'ProvisionedThroughputExceededException',
          $metadata: { httpStatusCode: 400 },
        }),
      )
      .callsFake(table.transactWrite);

    // Act
    const first = await invoke(fixture('validated-batch'));
    const retry = await invoke(fixture('validated-batch'));

    // Assess
    expect(first).toEqual({ batchItemFailures: [failure(0, 500), failure(1, 700)] });
    expect(retry).toEqual({ batchItemFailures: [] });
    expect(table.get('TOTAL#EUR')).toMatchObject({ orders: 2, revenueCents: 9897 + 2495 });
    expect(table.get('TOTAL#GBP')).toMatchObject({ orders: 1, revenueCents: 1099 });
    expect(emfSum('OrdersValidated')).toBe(4);
  });

  it('dead-letters an order it cannot count and counts the one behind it', async () => {
    // Prepare
    const { invoke, kafka } = setup();

    // Act
    const response = await invoke(fixture('invalid-currency'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(kafka.deadLetters.map((d) => d.headers)).toEqual([
      expect.objectContaining({
        'dlq-reason': 'VALIDATION_ERROR',
        'dlq-error': expect.stringMatching(/currency "JPY" is not one of EUR,USD,GBP/),
        'dlq-source-topic': TOPICS.ORDERS_VALIDATED,
        'dlq-source-partition': '4',
        'dlq-source-offset': '900',
        'dlq-consumer': 'order-analytics',
      }),
    ]);
    expect(kafka.deadLetters[0]?.key?.toString('utf8')).toBe(ORDER_IDS.badCurrency);
    expect(markerOrderIds(transactInputs())).toEqual([[ORDER_IDS.afterBad]]);
  });

  it('reads the running totals and the average order value of a currency', async () => {
    // Prepare
    const { invoke, store } = setup();
    await invoke(fixture('validated-batch'));

    // Act
    const totals = await store.totals('EUR');
    const average = await averageOrderValueOf(store, 'EUR');
    const gbp = await store.totals('GBP');

    // Assess
    expect(totals).toEqual({ currency: 'EUR', orders: 2, revenueCents: 12_392 });
    expect(average).toBe(6196);
    expect(gbp).toEqual({ currency: 'GBP', orders: 1, revenueCents: 1099 });
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toEqual({ TableName: TABLE, Key: { pk: 'TOTAL#EUR' } });
  });
});

describe('order-analytics config', () => {
  it('fails when ANALYTICS_TABLE is missing, naming it', () => {
    expectConfigRefused(orderAnalyticsEnv, KAFKA_ENV, 'invalid configuration: ANALYTICS_TABLE is required but not set');
  });

  it('reads a complete environment with Kafka defaults', () => {
    // Act
    const config = loadConfig(orderAnalyticsEnv, {
      KAFKA_BROKERS: 'b-1:9098',
      SCHEMA_REGISTRY_URL: 'http://r:8081',
      ANALYTICS_TABLE: 'analytics',
    });

    // Assess
    expect(config).toMatchObject({ KAFKA_AUTH: 'none', ANALYTICS_TABLE: 'analytics' });
  });
});
