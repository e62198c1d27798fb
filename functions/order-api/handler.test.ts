import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { HEADERS } from '../../shared/codec.js';
import { loadConfig } from '../../shared/config.js';
import type { EventOf } from '../../shared/events.js';
import { derivedId } from '../../shared/ids.js';
import { eventPublisher, type RecordProducer } from '../../shared/kafka.js';
import { expectConfigRefused } from '../../shared/testing/config.js';
import { testContext } from '../../shared/testing/context.js';
import { loadEvent, MemoryKafka, recordedCodec } from '../../shared/testing/fixtures.js';
import { TOPICS } from '../../shared/topology.js';
import { createHandler, orderApiEnv } from './order-api-handler.js';

const NOW = 1_795_255_200_000;
const ORDER_STATUS_TABLE = 'orderflow-order-status';
const IDEMPOTENCY_TABLE = 'orderflow-idempotency';

const context = testContext('order-api', { awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef' });

/**
 * The idempotency table behind a mocked DynamoDBClient: conditional puts fail on an existing key and return the
 * old item (ReturnValuesOnConditionCheckFailure ALL_OLD), updates SET attributes, deletes remove.
 */
function idempotencyTable(client: DynamoDBClient) {
  const mock = mockClient(client);
  const items = new Map<string, Record<string, AttributeValue>>();
  const idOf = (key: Record<string, AttributeValue> | undefined) => key?.id?.S ?? '';
  mock.on(PutItemCommand).callsFake(async (input: { Item: Record<string, AttributeValue> }) => {
    const existing = items.get(idOf(input.Item));
    if (existing) {
      throw new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        Item: existing,
      });
    }
    items.set(idOf(input.Item), { ...input.Item });
    return {};
  });
  mock
    .on(UpdateItemCommand)
    .callsFake(
      async (input: {
        Key: Record<string, AttributeValue>;
        UpdateExpression: string;
        ExpressionAttributeNames: Record<string, string>;
        ExpressionAttributeValues: Record<string, AttributeValue>;
      }) => {
        const item = { ...items.get(idOf(input.Key)), ...input.Key };
        for (const assignment of input.UpdateExpression.replace(/^SET /, '').split(', ')) {
          const [name = '', value = ''] = assignment.split(' = ');
          const attribute = input.ExpressionAttributeNames[name];
          const attributeValue = input.ExpressionAttributeValues[value];
          if (attribute && attributeValue) item[attribute] = attributeValue;
        }
        items.set(idOf(input.Key), item);
        return {};
      },
    );
  mock.on(DeleteItemCommand).callsFake(async (input: { Key: Record<string, AttributeValue> }) => {
    items.delete(idOf(input.Key));
    return {};
  });
  mock.on(GetItemCommand).callsFake(async (input: { Key: Record<string, AttributeValue> }) => ({
    Item: items.get(idOf(input.Key)),
  }));
  return { mock, items };
}

/** Holds producer sends until opened, like a broker slow to acknowledge; `reached` resolves when one waits. */
class Gate {
  open: () => void = () => {};
  private arrived: () => void = () => {};
  readonly opened = new Promise<void>((resolve) => {
    this.open = resolve;
  });
  readonly reached = new Promise<void>((resolve) => {
    this.arrived = resolve;
  });

  async pass(): Promise<void> {
    this.arrived();
    await this.opened;
  }
}

/** Wires a handler over MemoryKafka and mocked DynamoDB; sends wait at `gate` when one is given. */
function setup(gate?: Gate) {
  const codec = recordedCodec();
  const kafka = new MemoryKafka();
  const producer: RecordProducer = {
    send: async (records) => {
      await gate?.pass();
      await kafka.producer.send(records);
    },
    disconnect: async () => {},
  };
  const dynamoDbClient = new DynamoDBClient({ region: 'us-east-1' });
  const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  const statusTable = mockClient(documentClient);
  const idempotency = idempotencyTable(dynamoDbClient);
  let counter = 0;
  const handler = createHandler({
    config: { ORDER_STATUS_TABLE, IDEMPOTENCY_TABLE },
    publisher: eventPublisher(codec, gate ? producer : kafka.producer),
    documentClient,
    dynamoDbClient,
    clock: { now: () => NOW },
    ids: { newId: () => `00000000-0000-4000-8000-${String(++counter).padStart(12, '0')}` },
  });
  const placed = async () => (await kafka.eventsOn(codec, TOPICS.ORDERS_RAW)) as EventOf<'OrderPlaced'>[];
  return { handler, kafka, statusTable, idempotency, placed };
}

function bodyOf(result: APIGatewayProxyStructuredResultV2): Record<string, unknown> {
  expect(result.headers?.['content-type']).toBe('application/json');
  return JSON.parse(result.body ?? '') as Record<string, unknown>;
}

const idempotentRequest = () => loadEvent<APIGatewayProxyEventV2>('order-api/post-order-idempotent.json');
const IDEMPOTENT_ORDER_ID = derivedId('order-api', 'cust-1001', '5d9c1e1e-checkout-attempt-1');

let stdout: string[];
beforeEach(() => {
  stdout = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
});
afterEach(() => {
  jest.restoreAllMocks();
});

describe('order-api handler POST /orders', () => {
  it('publishes OrderPlaced to orders.raw, keyed by orderId, before answering 202', async () => {
    // Prepare
    const { handler, kafka, placed } = setup();

    // Act
    const result = await handler(loadEvent('order-api/post-order.json'), context);

    // Assess
    expect(result.statusCode).toBe(202);
    const body = bodyOf(result);
    expect(body).toEqual({ orderId: '00000000-0000-4000-8000-000000000001', status: 'PLACED' });
    expect(kafka.records).toHaveLength(1);
    expect(kafka.records[0]?.key?.toString('utf8')).toBe(body.orderId);
    expect(kafka.records[0]?.headers).toEqual({
      [HEADERS.EVENT_TYPE]: 'OrderPlaced',
      [HEADERS.CORRELATION_ID]: 'corr-post-order-1',
    });
    expect(await placed()).toEqual([
      {
        type: 'OrderPlaced',
        eventId: derivedId('order-api', String(body.orderId), 'OrderPlaced'),
        orderId: body.orderId,
        occurredAt: NOW,
        correlationId: 'corr-post-order-1',
        customerId: 'cust-1001',
        email: 'ada.lovelace@example.com',
        currency: 'EUR',
        items: [
          { sku: 'SKU-KEYBOARD', quantity: 1 },
          { sku: 'SKU-MUG', quantity: 2 },
        ],
        paymentToken: 'tok_visa_4242',
      },
    ]);
  });

  it('fails when fields are invalid, with a 400 naming them and nothing produced', async () => {
    const { handler, kafka } = setup();

    const result = await handler(loadEvent('order-api/post-order-invalid.json'), context);

    expect(result.statusCode).toBe(400);
    const body = bodyOf(result) as { error: string; details: { field: string; message: string }[] };
    expect(body.error).toBe('invalid order');
    expect(body.details.map((d) => d.field)).toEqual(
      expect.arrayContaining([
        'customerId',
        'email',
        'currency',
        'items.0.sku',
        'items.0.quantity',
        'items.1.quantity',
        'items.2.quantity',
      ]),
    );
    expect(kafka.records).toHaveLength(0);
  });

  it('fails when the body is over 64 KiB, with a 413 and nothing produced', async () => {
    const { handler, kafka } = setup();

    const result = await handler(loadEvent('order-api/post-order-oversized.json'), context);

    expect(result.statusCode).toBe(413);
    expect(bodyOf(result)).toEqual({ error: expect.stringContaining('65536') });
    expect(kafka.records).toHaveLength(0);
  });

  it('fails with 503 and Retry-After when the producer throws, claiming nothing', async () => {
    const { handler, kafka } = setup();
    kafka.failNextSend = new Error('KafkaJSConnectionError: Connection timeout');

    const result = await handler(loadEvent('order-api/post-order.json'), context);

    expect(result.statusCode).toBe(503);
    expect(result.headers?.['retry-after']).toBe('2');
    expect(bodyOf(result)).toEqual({ error: expect.any(String) });
    expect(bodyOf(result)).not.toHaveProperty('orderId');
    expect(kafka.records).toHaveLength(0);
  });

  it('never logs the customer email', async () => {
    const { handler, kafka } = setup();
    kafka.failNextSend = new Error('broker down');

    await handler(loadEvent('order-api/post-order.json'), context);
    await handler(loadEvent('order-api/post-order.json'), context);

    expect(stdout.join('')).toContain('order placed');
    expect(stdout.join('')).not.toContain('ada.lovelace@example.com');
  });
});

describe('order-api handler Idempotency-Key', () => {
  it('replays the completed record to a retry: same orderId and response, one OrderPlaced', async () => {
    // Prepare
    const { handler, placed, idempotency } = setup();

    // Act
    const first = await handler(idempotentRequest(), context);
    const replay = await handler(idempotentRequest(), context);

    // Assess
    expect(first.statusCode).toBe(202);
    expect(bodyOf(first)).toEqual({ orderId: IDEMPOTENT_ORDER_ID, status: 'PLACED' });
    expect(replay).toEqual(first);
    expect((await placed()).map((e) => e.orderId)).toEqual([IDEMPOTENT_ORDER_ID]);
    const [record] = [...idempotency.items.values()];
    expect(record?.status?.S).toBe('COMPLETED');
    expect(record?.id?.S).toMatch(/^order-api#POST \/orders#/);
    expect(idempotency.mock.commandCalls(PutItemCommand)[0]?.args[0].input.TableName).toBe(IDEMPOTENCY_TABLE);
  });

  it('replays a completed record written by an earlier invocation elsewhere', async () => {
    const earlier = setup();
    await earlier.handler(idempotentRequest(), context);
    const { handler, kafka, idempotency } = setup();
    for (const [id, item] of earlier.idempotency.items) idempotency.items.set(id, item);

    const replay = await handler(idempotentRequest(), context);

    expect(replay.statusCode).toBe(202);
    expect(bodyOf(replay)).toEqual({ orderId: IDEMPOTENT_ORDER_ID, status: 'PLACED' });
    expect(kafka.records).toHaveLength(0);
  });

  it('fails with 422 when the key is reused with another body, producing nothing more', async () => {
    const { handler, kafka } = setup();
    const other = idempotentRequest();
    other.body = JSON.stringify({ ...JSON.parse(other.body ?? '{}'), currency: 'GBP' });

    await handler(idempotentRequest(), context);
    const result = await handler(other, context);

    expect(result.statusCode).toBe(422);
    expect(bodyOf(result)).toEqual({ error: expect.stringContaining('Idempotency-Key') });
    expect(kafka.records).toHaveLength(1);
  });

  it('re-publishes the same orderId and eventId when the idempotency record was lost', async () => {
    const { handler, placed, idempotency } = setup();

    const first = await handler(idempotentRequest(), context);
    idempotency.items.clear();
    const second = await handler(idempotentRequest(), context);

    expect(second).toEqual(first);
    const events = await placed();
    expect(events.map((e) => [e.orderId, e.eventId])).toEqual([
      [IDEMPOTENT_ORDER_ID, derivedId('order-api', IDEMPOTENT_ORDER_ID, 'OrderPlaced')],
      [IDEMPOTENT_ORDER_ID, derivedId('order-api', IDEMPOTENT_ORDER_ID, 'OrderPlaced')],
    ]);
  });

  it('releases the key when Kafka fails, so the retry places the order', async () => {
    const { handler, kafka, idempotency } = setup();
    kafka.failNextSend = new Error('KafkaJSNumberOfRetriesExceeded');

    const failed = await handler(idempotentRequest(), context);
    const retried = await handler(idempotentRequest(), context);

    expect(failed.statusCode).toBe(503);
    expect(idempotency.mock.commandCalls(DeleteItemCommand)).toHaveLength(1);
    expect(retried.statusCode).toBe(202);
    expect(bodyOf(retried).orderId).toBe(IDEMPOTENT_ORDER_ID);
    expect(kafka.records).toHaveLength(1);
  });

  it('fails with 409 and Retry-After while the first attempt is still in progress', async () => {
    // Prepare
    const gate = new Gate();
    const { handler, kafka } = setup(gate);

    // Act
    const first = handler(idempotentRequest(), context);
    await gate.reached;
    const concurrent = await handler(idempotentRequest(), context);
    gate.open();

    // Assess
    expect(concurrent.statusCode).toBe(409);
    expect(concurrent.headers?.['retry-after']).toBe('2');
    expect((await first).statusCode).toBe(202);
    expect(kafka.records).toHaveLength(1);
  });

  /** Sends the idempotent request after `fail` has made the mocked idempotency table fail some command. */
  async function whileTableFails(fail: (table: ReturnType<typeof idempotencyTable>['mock']) => void) {
    const { handler, kafka, idempotency } = setup();
    fail(idempotency.mock);
    return { result: await handler(idempotentRequest(), context), kafka };
  }

  it('answers 202 when the order was acknowledged but the idempotency record could not be completed', async () => {
    const { result, kafka } = await whileTableFails((table) =>
      table.on(UpdateItemCommand).rejects(new Error('ProvisionedThroughputExceededException')),
    );

    expect(result.statusCode).toBe(202);
    expect(bodyOf(result)).toEqual({ orderId: IDEMPOTENT_ORDER_ID, status: 'PLACED' });
    expect(kafka.records).toHaveLength(1);
  });

  it('fails with 503 when the idempotency table cannot be reached, producing nothing', async () => {
    const { result, kafka } = await whileTableFails((table) =>
      table.on(PutItemCommand).rejects(new Error('connect ECONNREFUSED')),
    );

    expect(result.statusCode).toBe(503);
    expect(result.headers?.['retry-after']).toBe('2');
    expect(kafka.records).toHaveLength(0);
  });
});

describe('order-api handler within its timeout', () => {
  /** The test context, for an invocation that times out `ms` from now. */
  function endingIn(ms: number): Context {
    const deadline = Date.now() + ms;
    return { ...context, getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()) };
  }

  it('fails with 503 and Retry-After before the invocation times out when the producer hangs', async () => {
    // Prepare: the broker never acknowledges
    const gate = new Gate();
    const { handler, kafka } = setup(gate);

    // Act
    const started = Date.now();
    const result = await handler(loadEvent('order-api/post-order.json'), endingIn(500));
    const elapsed = Date.now() - started;

    // Assess
    expect(result.statusCode).toBe(503);
    expect(result.headers?.['retry-after']).toBe('2');
    expect(bodyOf(result)).toEqual({ error: expect.any(String) });
    expect(elapsed).toBeLessThan(500);
    expect(kafka.records).toHaveLength(0);
  });

  it('releases the key of a hung publish, and a late acknowledgement then duplicates only the same event', async () => {
    // Prepare
    const gate = new Gate();
    const { handler, kafka, idempotency, placed } = setup(gate);

    // Act: the first attempt gives up on the broker; its record is written late, after the client's retry began
    const failed = await handler(idempotentRequest(), endingIn(500));
    const inProgress = idempotency.mock.commandCalls(PutItemCommand)[0]?.args[0].input.Item;
    gate.open();
    const retried = await handler(idempotentRequest(), endingIn(500));

    // Assess
    expect(failed.statusCode).toBe(503);
    expect(Number(inProgress?.in_progress_expiration?.N)).toBeLessThanOrEqual(Date.now() + 500);
    expect(idempotency.mock.commandCalls(DeleteItemCommand)).toHaveLength(1);
    expect(retried.statusCode).toBe(202);
    expect(bodyOf(retried).orderId).toBe(IDEMPOTENT_ORDER_ID);
    const events = await placed();
    expect(events.map((e) => [e.orderId, e.eventId])).toEqual([
      [IDEMPOTENT_ORDER_ID, derivedId('order-api', IDEMPOTENT_ORDER_ID, 'OrderPlaced')],
      [IDEMPOTENT_ORDER_ID, derivedId('order-api', IDEMPOTENT_ORDER_ID, 'OrderPlaced')],
    ]);
    expect(kafka.records.map((r) => r.key?.toString('utf8'))).toEqual([IDEMPOTENT_ORDER_ID, IDEMPOTENT_ORDER_ID]);
  });
});

describe('order-api handler GET /orders/{orderId}', () => {
  const orderId = '6f1c2a8e-3b4d-8e5f-9a6b-7c8d9e0f1a2b';

  it('answers 200 with the status row, projected without bookkeeping', async () => {
    const { handler, statusTable } = setup();
    const row = {
      orderId,
      status: 'CONFIRMED',
      currency: 'EUR',
      items: [{ sku: 'SKU-KEYBOARD', quantity: 1 }],
      totalCents: 12900,
      history: [
        { status: 'PLACED', at: '2026-11-21T10:00:00.000Z' },
        { status: 'VALIDATED', at: '2026-11-21T10:00:00.200Z' },
        { status: 'CONFIRMED', at: '2026-11-21T10:00:00.900Z' },
      ],
    };
    statusTable.on(GetCommand).resolves({ Item: row });

    const result = await handler(loadEvent('order-api/get-order.json'), context);

    expect(result.statusCode).toBe(200);
    expect(bodyOf(result)).toEqual(row);
    const input = statusTable.commandCalls(GetCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ TableName: ORDER_STATUS_TABLE, Key: { orderId } });
    expect(Object.values(input?.ExpressionAttributeNames ?? {}).sort()).toEqual(
      ['currency', 'history', 'items', 'orderId', 'reason', 'status', 'totalCents'].sort(),
    );
  });

  it('answers 404 for an order with no status row (yet)', async () => {
    const { handler, statusTable } = setup();
    statusTable.on(GetCommand).resolves({});

    const result = await handler(loadEvent('order-api/get-order-unknown.json'), context);

    expect(result.statusCode).toBe(404);
    expect(bodyOf(result)).toEqual({ error: 'order 00000000-0000-8000-8000-000000000000 not found' });
    expect(statusTable.commandCalls(GetCommand)).toHaveLength(1);
  });
});

describe('order-api handler routing and config', () => {
  it('answers 405 for another method on /orders and 404 for an unknown route', async () => {
    const { handler, kafka } = setup();
    const put = loadEvent<APIGatewayProxyEventV2>('order-api/post-order.json');
    put.routeKey = '$default';
    put.requestContext.http.method = 'PUT';
    const unknown = loadEvent<APIGatewayProxyEventV2>('order-api/get-order.json');
    unknown.routeKey = '$default';
    unknown.rawPath = '/payments';

    const results = [await handler(put, context), await handler(unknown, context)];

    expect(results.map((r) => r.statusCode)).toEqual([405, 404]);
    expect(results[0]?.headers?.allow).toBe('POST');
    expect(kafka.records).toHaveLength(0);
  });

  it('fails when variables are missing, naming each of them', () => {
    expectConfigRefused(
      orderApiEnv,
      { KAFKA_BROKERS: '127.0.0.1:9092', SCHEMA_REGISTRY_URL: 'http://r:8081' },
      /ORDER_STATUS_TABLE is required but not set; IDEMPOTENCY_TABLE is required but not set/,
    );
  });

  it('reads a complete environment with Kafka defaults', () => {
    const config = loadConfig(orderApiEnv, {
      KAFKA_BROKERS: 'b-1:9098',
      SCHEMA_REGISTRY_URL: 'http://r:8081',
      ORDER_STATUS_TABLE: 's',
      IDEMPOTENCY_TABLE: 'i',
    });

    expect(config).toMatchObject({ KAFKA_AUTH: 'none', AWS_REGION: 'us-east-1', ORDER_STATUS_TABLE: 's' });
  });
});
