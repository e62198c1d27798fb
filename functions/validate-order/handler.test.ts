import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, type BatchGetCommandInput, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import {
  BLOCKED_CUSTOMER,
  GLUE_POISON,
  ORDER_IDS,
  OVERSIZED_BYTES,
  POISON,
  UNKNOWN_GLUE_VERSION,
  UNKNOWN_SKUS,
} from '../../events/validate-order/generate.js';
import { loadConfig } from '../../shared/config.js';
import type { OrderflowEvent } from '../../shared/events.js';
import { derivedId } from '../../shared/ids.js';
import { eventPublisher } from '../../shared/kafka.js';
import { type DeadLetterSink, type KafkaRecord, type MskEvent, recordsOf } from '../../shared/msk.js';
import { expectConfigRefused, KAFKA_ENV } from '../../shared/testing/config.js';
import { testContext } from '../../shared/testing/context.js';
import { batchItemFailure, loadEvent, MemoryKafka, recordedCodec } from '../../shared/testing/fixtures.js';
import { captureOutput } from '../../shared/testing/output.js';
import { TOPICS } from '../../shared/topology.js';
import { dynamoCatalog } from './catalog-store.js';
import { createHandler, validateOrderEnv } from './validate-order-handler.js';

const TABLE = 'orderflow-catalog';
const NOW = Date.parse('2026-11-21T10:00:00.000Z');

const context = testContext('validate-order');

/** The CATALOG table behind the mocked document client (prices as in local/seed.json). */
const CATALOG_ITEMS: Record<string, unknown>[] = [
  { pk: 'SKU#SKU-BOOK', sku: 'SKU-BOOK', name: 'Book', prices: { EUR: 4299, USD: 4599, GBP: 3799 } },
  { pk: 'SKU#SKU-MUG', sku: 'SKU-MUG', name: 'Mug', prices: { EUR: 1299, USD: 1399, GBP: 1099 } },
  { pk: 'SKU#SKU-TSHIRT', sku: 'SKU-TSHIRT', name: 'T-shirt', prices: { EUR: 2499, USD: 2699, GBP: 2199 } },
  { pk: 'SKU#SKU-STICKERS', sku: 'SKU-STICKERS', name: 'Stickers', prices: { EUR: 499, USD: 549, GBP: 449 } },
  { pk: `SKU#${UNKNOWN_SKUS[1]}`, sku: UNKNOWN_SKUS[1], name: 'Euro only', prices: { EUR: 100 } },
  { pk: `CUSTOMER#${BLOCKED_CUSTOMER}`, blocked: true },
];
let table: Map<string, Record<string, unknown>>;

const ddb = mockClient(DynamoDBDocumentClient);

function keysOf(input: BatchGetCommandInput): string[] {
  return (input.RequestItems?.[TABLE]?.Keys ?? []).map((k) => String(k.pk));
}

function fakeBatchGet(input: BatchGetCommandInput) {
  const found = keysOf(input).flatMap((pk) => {
    const item = table.get(pk);
    return item ? [structuredClone(item)] : [];
  });
  return { Responses: { [TABLE]: found }, UnprocessedKeys: {} };
}

function awsError(name: string, httpStatusCode: number): Error {
  return Object.assign(new Error(`${name} from DynamoDB`), { name, $fault: 'server', $metadata: { httpStatusCode } });
}

/** A `batchItemFailures` entry: Lambda identifies the partition by its `topic-partition` key. */
function failure(partition: number, offset: number) {
  return batchItemFailure(TOPICS.ORDERS_RAW, partition, offset);
}

/** Everything written to stdout and stderr while a test runs: Powertools logs go there. */
let output: string[];

beforeEach(() => {
  table = new Map(CATALOG_ITEMS.map((item) => [String(item.pk), item]));
  ddb.reset();
  ddb.on(BatchGetCommand).callsFake(fakeBatchGet);
  output = captureOutput();
});

afterEach(() => {
  jest.restoreAllMocks();
});

function setup(options: { deadLetters?: (kafka: MemoryKafka) => DeadLetterSink } = {}) {
  const kafka = new MemoryKafka();
  const codec = recordedCodec();
  const handler = createHandler({
    codec,
    deadLetters: options.deadLetters?.(kafka) ?? kafka.deadLetterSink,
    publisher: eventPublisher(codec, kafka.producer),
    catalog: dynamoCatalog(DynamoDBDocumentClient.from(new DynamoDBClient({})), TABLE, { baseDelayMs: 1 }),
    clock: () => NOW,
  });
  const invoke = (event: MskEvent) => handler(event, context);
  const produced = () => kafka.eventsOn(codec, TOPICS.ORDERS_VALIDATED);
  /** The orders of what was produced, in order. */
  const producedOrders = async () => (await produced()).map((e) => e.orderId);
  return { kafka, invoke, produced, producedOrders };
}

function fixture(name: string): MskEvent {
  return loadEvent<MskEvent>(`validate-order/${name}.json`);
}

/** The fixture's record at `partition`@`offset`, bytes decoded. */
function recordAt(event: MskEvent, where: { partition: number; offset: number }): KafkaRecord {
  const record = recordsOf(event).find((r) => r.partition === where.partition && r.offset === String(where.offset));
  if (!record) throw new Error(`no record at ${where.partition}@${where.offset}`);
  return record;
}

function byOrder(events: OrderflowEvent[]): Map<string, OrderflowEvent> {
  return new Map(events.map((e) => [e.orderId, e]));
}

describe('validate-order handler', () => {
  it('prices every order of a batch from the catalog and produces OrderValidated', async () => {
    // Prepare
    const { invoke, produced, kafka } = setup();
    const event = fixture('orders-batch');
    const placed = recordsOf(event);

    // Act
    const response = await invoke(event);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const events = await produced();
    expect(events.map((e) => [e.type, e.orderId])).toEqual([
      ['OrderValidated', ORDER_IDS.eurMulti],
      ['OrderValidated', ORDER_IDS.usdSingle],
      ['OrderValidated', ORDER_IDS.gbpNoToken],
      ['OrderValidated', ORDER_IDS.eurSameSkuTwice],
      ['OrderValidated', ORDER_IDS.usdLarge],
    ]);
    const validated = byOrder(events);
    expect(validated.get(ORDER_IDS.eurMulti)).toEqual({
      type: 'OrderValidated',
      eventId: expect.any(String),
      orderId: ORDER_IDS.eurMulti,
      occurredAt: NOW,
      correlationId: derivedId('fixture-correlation', ORDER_IDS.eurMulti),
      customerId: 'cust-42',
      email: 'ada.lovelace@example.com',
      currency: 'EUR',
      lines: [
        { sku: 'SKU-BOOK', quantity: 2, unitPriceCents: 4299, lineTotalCents: 8598 },
        { sku: 'SKU-MUG', quantity: 1, unitPriceCents: 1299, lineTotalCents: 1299 },
      ],
      totalCents: 9897,
      status: 'PENDING',
      validatedAt: NOW,
      paymentToken: 'tok_visa',
    });
    expect(validated.get(ORDER_IDS.usdSingle)).toMatchObject({ currency: 'USD', totalCents: 3 * 2699 });
    expect(validated.get(ORDER_IDS.gbpNoToken)).toMatchObject({
      currency: 'GBP',
      totalCents: 1099,
      paymentToken: null,
    });
    expect(validated.get(ORDER_IDS.eurSameSkuTwice)).toMatchObject({
      customerId: 'cust-7',
      email: 'grace.hopper@example.com',
      lines: [
        { sku: 'SKU-STICKERS', quantity: 1, unitPriceCents: 499, lineTotalCents: 499 },
        { sku: 'SKU-STICKERS', quantity: 4, unitPriceCents: 499, lineTotalCents: 1996 },
      ],
      totalCents: 2495,
    });
    expect(validated.get(ORDER_IDS.usdLarge)).toMatchObject({ totalCents: 4_599_000 });
    // Event ids derive from the consumed OrderPlaced, so a redelivery re-emits the same id.
    for (const source of placed) {
      const orderId = source.key?.toString('utf8') ?? '';
      const sourceEventId = derivedId('fixture', orderId, 'OrderPlaced');
      expect(validated.get(orderId)?.eventId).toBe(derivedId('validate-order', sourceEventId, 'OrderValidated'));
    }
    expect(kafka.records.map((r) => [r.key?.toString('utf8'), r.headers['event-type']])).toEqual(
      events.map((e) => [e.orderId, 'OrderValidated']),
    );
    expect(kafka.deadLetters).toEqual([]);
  });

  it('reads the catalog of a whole batch in one BatchGet, each key once', async () => {
    // Prepare
    const { invoke } = setup();

    // Act
    await invoke(fixture('orders-batch'));

    // Assess
    const calls = ddb.commandCalls(BatchGetCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(1);
    expect(calls.flatMap(keysOf).sort()).toEqual([
      'CUSTOMER#cust-42',
      'CUSTOMER#cust-7',
      'SKU#SKU-BOOK',
      'SKU#SKU-MUG',
      'SKU#SKU-STICKERS',
      'SKU#SKU-TSHIRT',
    ]);
    expect(Object.keys(calls[0]?.RequestItems ?? {})).toEqual([TABLE]);
  });

  it('never logs the customer email', async () => {
    // Act
    await setup().invoke(fixture('orders-batch'));

    // Assess
    expect(output.join('')).toContain('order validated');
    expect(output.join('')).not.toContain('ada.lovelace@example.com');
  });

  it('rejects with UNKNOWN_SKU listing SKUs unknown or not priced in the currency', async () => {
    // Prepare
    const { invoke, produced } = setup();

    // Act
    const response = await invoke(fixture('unknown-sku'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const [rejected, ...rest] = await produced();
    expect(rest).toEqual([]);
    expect(rejected).toEqual({
      type: 'OrderRejected',
      eventId: derivedId('validate-order', derivedId('fixture', ORDER_IDS.unknownSku, 'OrderPlaced'), 'OrderRejected'),
      orderId: ORDER_IDS.unknownSku,
      occurredAt: NOW,
      correlationId: derivedId('fixture-correlation', ORDER_IDS.unknownSku),
      customerId: 'cust-42',
      email: 'ada.lovelace@example.com',
      reason: 'UNKNOWN_SKU',
      detail: `unknown SKUs in GBP: ${UNKNOWN_SKUS[0]}, ${UNKNOWN_SKUS[1]}`,
    });
  });

  it('rejects a blocked customer with CUSTOMER_BLOCKED', async () => {
    // Prepare
    const { invoke, produced } = setup();

    // Act
    const response = await invoke(fixture('blocked-customer'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await produced()).toMatchObject([
      { type: 'OrderRejected', orderId: ORDER_IDS.blocked, customerId: BLOCKED_CUSTOMER, reason: 'CUSTOMER_BLOCKED' },
    ]);
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(1);
  });

  it('produces identical records when the same batch is delivered again', async () => {
    // Prepare
    const { invoke, kafka } = setup();

    // Act
    await invoke(fixture('orders-batch'));
    const first = kafka.records.splice(0);
    await invoke(fixture('orders-batch'));
    const second = kafka.records.splice(0);

    // Assess
    expect(second).toHaveLength(5);
    expect(second).toEqual(first);
  });

  it('dead-letters every poison record with its reason and bytes and processes the good records behind it', async () => {
    // Prepare
    const { invoke, produced, kafka } = setup();
    const event = fixture('poison-batch');

    // Act
    const response = await invoke(event);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect((await produced()).map((e) => [e.type, e.orderId])).toEqual([
      ['OrderValidated', ORDER_IDS.poisonGoodFirst],
      ['OrderValidated', ORDER_IDS.poisonGoodMiddle],
      ['OrderValidated', ORDER_IDS.poisonGoodLast],
      ['OrderValidated', ORDER_IDS.poisonGoodOther],
      ['OrderValidated', ORDER_IDS.poisonGoodTail],
    ]);
    const expected: [keyof typeof POISON, string][] = [
      ['garbage', 'DESERIALIZATION_ERROR'],
      ['unknownSchemaId', 'SCHEMA_NOT_FOUND'],
      ['otherSchema', 'DESERIALIZATION_ERROR'],
      ['truncated', 'DESERIALIZATION_ERROR'],
      ['tombstone', 'DESERIALIZATION_ERROR'],
      ['oversized', 'DESERIALIZATION_ERROR'],
      ['zeroQuantity', 'VALIDATION_ERROR'],
      ['badCurrency', 'VALIDATION_ERROR'],
      ['noItems', 'VALIDATION_ERROR'],
    ];
    expect(kafka.deadLetters).toHaveLength(expected.length);
    for (const [i, [poison, reason]] of expected.entries()) {
      const where = POISON[poison];
      const original = recordAt(event, where);
      const letter = kafka.deadLetters[i];
      expect(letter?.headers).toEqual({
        ...original.headers,
        'dlq-reason': reason,
        'dlq-error': expect.any(String),
        'dlq-source-topic': TOPICS.ORDERS_RAW,
        'dlq-source-partition': String(where.partition),
        'dlq-source-offset': String(where.offset),
        'dlq-consumer': 'validate-order',
        'dlq-failed-at': expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      });
      expect(letter?.key).toEqual(original.key);
      expect(letter?.value).toEqual(original.value);
    }
    const letterAt = (p: keyof typeof POISON) =>
      kafka.deadLetters.find((d) => d.headers['dlq-source-offset'] === String(POISON[p].offset));
    expect(letterAt('tombstone')?.value).toBeNull();
    expect(letterAt('oversized')?.value?.length).toBe(OVERSIZED_BYTES);
    expect(letterAt('unknownSchemaId')?.headers['dlq-error']).toMatch(/schema id 999 is not in the registry/);
    expect(letterAt('zeroQuantity')?.headers['dlq-error']).toMatch(/quantity must be a positive integer, got 0/);
    expect(letterAt('badCurrency')?.headers['dlq-error']).toMatch(/currency "JPY"/);
    expect(letterAt('noItems')?.headers['dlq-error']).toMatch(/order has no items/);
  });

  it('validates a Glue-framed batch (plain and zlib) exactly as the same orders Confluent-framed', async () => {
    // Prepare
    const confluent = setup();
    const glue = setup();

    // Act
    const fromConfluent = await confluent.invoke(fixture('orders-batch'));
    const fromGlue = await glue.invoke(fixture('glue-batch'));

    // Assess
    expect(fromGlue).toEqual({ batchItemFailures: [] });
    expect(fromConfluent).toEqual(fromGlue);
    const validated = await glue.produced();
    expect(validated.map((e) => e.orderId)).toEqual([
      ORDER_IDS.eurMulti,
      ORDER_IDS.usdSingle,
      ORDER_IDS.gbpNoToken,
      ORDER_IDS.eurSameSkuTwice,
      ORDER_IDS.usdLarge,
    ]);
    expect(validated).toEqual(await confluent.produced());
    expect(glue.kafka.deadLetters).toEqual([]);
  });

  it('reads a partition mixing Confluent and Glue records, dead-lettering the Glue poison records', async () => {
    // Prepare
    const { invoke, producedOrders, kafka } = setup();
    const event = fixture('mixed-batch');

    // Act
    const response = await invoke(event);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await producedOrders()).toEqual([
      ORDER_IDS.eurMulti,
      ORDER_IDS.usdSingle,
      ORDER_IDS.gbpNoToken,
      ORDER_IDS.eurSameSkuTwice,
      ORDER_IDS.usdLarge,
      ORDER_IDS.poisonGoodTail,
    ]);
    expect(kafka.deadLetterReasons()).toEqual([
      ['SCHEMA_NOT_FOUND', String(GLUE_POISON.unknownVersion.offset)],
      ['DESERIALIZATION_ERROR', String(GLUE_POISON.truncatedZlib.offset)],
    ]);
    expect(kafka.deadLetters[0]?.headers['dlq-error']).toContain(
      `Glue schema version ${UNKNOWN_GLUE_VERSION} is not in the registry`,
    );
    expect(kafka.deadLetters[1]?.headers['dlq-error']).toContain('is not valid zlib');
    expect(kafka.deadLetters[1]?.value).toEqual(recordAt(event, GLUE_POISON.truncatedZlib).value);
  });

  it('fails when BatchGet is throttled: the record is retried and the rest of its partition waits', async () => {
    // Prepare: the USD order at partition 0, offset 11 is the one whose SKU lookup is throttled; so is the
    // batch's read up front, which holds that SKU too, and the records read one by one.
    const { invoke, producedOrders } = setup();
    ddb.on(BatchGetCommand).callsFake((input: BatchGetCommandInput) => {
      if (keysOf(input).includes('SKU#SKU-TSHIRT')) throw awsError('ThrottlingException', 400);
      return fakeBatchGet(input);
    });

    // Act
    const response = await invoke(fixture('orders-batch'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [failure(0, 11)] });
    expect(await producedOrders()).toEqual([ORDER_IDS.eurMulti, ORDER_IDS.eurSameSkuTwice, ORDER_IDS.usdLarge]);
    // Nothing after the failed record in partition 0 was looked up (offset 12 would read cust-42, then SKU-MUG).
    expect(
      ddb
        .commandCalls(BatchGetCommand)
        .map((c) => keysOf(c.args[0].input))
        .slice(1),
    ).toEqual([
      ['CUSTOMER#cust-42'],
      ['SKU#SKU-BOOK', 'SKU#SKU-MUG'],
      ['CUSTOMER#cust-42'],
      ['SKU#SKU-TSHIRT'],
      ['CUSTOMER#cust-7'],
      ['SKU#SKU-STICKERS'],
      ['CUSTOMER#cust-42'],
      ['SKU#SKU-BOOK'],
    ]);
  });

  it('fails when DynamoDB answers 500: the first record of the partition is reported and other partitions complete', async () => {
    // Prepare
    const { invoke, producedOrders, kafka } = setup();
    // The batch's read up front fails, then the first record's own lookup.
    ddb
      .on(BatchGetCommand)
      .rejectsOnce(awsError('InternalServerError', 500))
      .rejectsOnce(awsError('InternalServerError', 500))
      .callsFake(fakeBatchGet);

    // Act
    const response = await invoke(fixture('orders-batch'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [failure(0, 10)] });
    expect(await producedOrders()).toEqual([ORDER_IDS.eurSameSkuTwice, ORDER_IDS.usdLarge]);
    expect(kafka.deadLetters).toEqual([]);
  });

  it('retries keys DynamoDB left unprocessed', async () => {
    // Prepare
    const { invoke, produced } = setup();
    ddb
      .on(BatchGetCommand)
      .callsFakeOnce((input: BatchGetCommandInput) => {
        const { Responses } = fakeBatchGet(input);
        return {
          Responses: { [TABLE]: (Responses[TABLE] ?? []).filter((item) => item.pk !== 'SKU#SKU-MUG') },
          UnprocessedKeys: { [TABLE]: { Keys: [{ pk: 'SKU#SKU-MUG' }] } },
        };
      })
      .callsFake(fakeBatchGet);

    // Act
    const response = await invoke(fixture('orders-batch'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(byOrder(await produced()).get(ORDER_IDS.eurMulti)).toMatchObject({ totalCents: 9897 });
    const calls = ddb.commandCalls(BatchGetCommand).map((c) => keysOf(c.args[0].input));
    expect(calls).toHaveLength(2);
    expect(calls[1]).toEqual(['SKU#SKU-MUG']);
  });

  it('fails when keys stay unprocessed after every attempt', async () => {
    // Prepare
    const { invoke, producedOrders } = setup();
    ddb
      .on(BatchGetCommand)
      .callsFake((input: BatchGetCommandInput) =>
        input.RequestItems?.[TABLE]?.Keys?.some((k) => String(k.pk).startsWith('SKU#SKU-STICKERS'))
          ? { Responses: { [TABLE]: [] }, UnprocessedKeys: { [TABLE]: { Keys: input.RequestItems[TABLE].Keys } } }
          : fakeBatchGet(input),
      );

    // Act
    const response = await invoke(fixture('orders-batch'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [failure(1, 20)] });
    expect(await producedOrders()).toEqual([ORDER_IDS.eurMulti, ORDER_IDS.usdSingle, ORDER_IDS.gbpNoToken]);
    const stickerCalls = ddb
      .commandCalls(BatchGetCommand)
      .filter((c) => keysOf(c.args[0].input).includes('SKU#SKU-STICKERS'));
    // Five attempts for the batch's read up front, five more for the record's own lookup.
    expect(stickerCalls).toHaveLength(10);
  });

  it('reports the record instead of losing it when the dead letter cannot be written', async () => {
    // Prepare
    let failDeadLetter = true;
    const { invoke, producedOrders, kafka } = setup({
      deadLetters: (memory) => ({
        send: async (letter) => {
          if (failDeadLetter) {
            failDeadLetter = false;
            throw new Error('orders.dlq: NOT_ENOUGH_REPLICAS');
          }
          await memory.deadLetterSink.send(letter);
        },
      }),
    });

    // Act
    const response = await invoke(fixture('poison-batch'));

    // Assess: the garbage record at 0@201 is reported; partition 0 stops there, partition 1 goes on.
    expect(response).toEqual({
      batchItemFailures: [failure(POISON.garbage.partition, POISON.garbage.offset)],
    });
    expect(await producedOrders()).toEqual([ORDER_IDS.poisonGoodFirst, ORDER_IDS.poisonGoodTail]);
    expect(kafka.deadLetters.map((d) => d.headers['dlq-source-partition'])).toEqual(['1', '1', '1', '1']);
  });

  it('reports the record when orders.validated cannot be written', async () => {
    // Prepare
    const { invoke, producedOrders, kafka } = setup();
    kafka.failNextSend = new Error('KafkaJSNumberOfRetriesExceeded');

    // Act
    const response = await invoke(fixture('orders-batch'));

    // Assess
    expect(response).toEqual({ batchItemFailures: [failure(0, 10)] });
    expect(await producedOrders()).toEqual([ORDER_IDS.eurSameSkuTwice, ORDER_IDS.usdLarge]);
  });
});

describe('validate-order config', () => {
  it('fails when CATALOG_TABLE is missing, naming it', () => {
    expectConfigRefused(validateOrderEnv, KAFKA_ENV, 'invalid configuration: CATALOG_TABLE is required but not set');
    expect(() => loadConfig(validateOrderEnv, KAFKA_ENV)).toThrow(/CATALOG_TABLE is required but not set/);
  });

  it('names every missing variable', () => {
    // Act
    const load = () => loadConfig(validateOrderEnv, {});

    // Assess
    expect(load).toThrow(/KAFKA_BROKERS is required but not set/);
    expect(load).toThrow(/CATALOG_TABLE is required but not set/);
    // The registry's variables are checked once the fields are there (shared/config.test.ts).
    expect(() => loadConfig(validateOrderEnv, { KAFKA_BROKERS: 'b:9092', CATALOG_TABLE: 't' })).toThrow(
      /SCHEMA_REGISTRY_URL is required when SCHEMA_REGISTRY is 'confluent'/,
    );
  });

  it('reads a complete environment with Kafka defaults', () => {
    // Act
    const config = loadConfig(validateOrderEnv, {
      KAFKA_BROKERS: 'b-1:9098',
      SCHEMA_REGISTRY_URL: 'http://r:8081',
      CATALOG_TABLE: 'catalog',
    });

    // Assess
    expect(config).toMatchObject({ KAFKA_AUTH: 'none', AWS_REGION: 'us-east-1', CATALOG_TABLE: 'catalog' });
  });
});
