import {
  ApiGatewayManagementApiClient,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { managementApiSender } from '../../shared/connection-sender.js';
import { dynamoLiveConnectionsStore, LIVE_ITEM_TTL_SECONDS } from '../../shared/live-connections-store.js';
import { MAX_CLIENT_MESSAGE_BYTES, MAX_SUBSCRIPTIONS_PER_CONNECTION } from '../../shared/live-protocol.js';
import { testContext } from '../../shared/testing/context.js';
import { FakeTable, throttled } from '../../shared/testing/fake-table.js';
import { loadEvent } from '../../shared/testing/fixtures.js';
import { LiveTable, postedMessage } from '../../shared/testing/live-table.js';
import { captureOutput } from '../../shared/testing/output.js';
import { createHandler } from './live-connections-handler.js';
import { orderStatusReader } from './order-status-reader.js';

const LIVE_TABLE = 'orderflow-live-connections';
const ORDERS_TABLE = 'orderflow-order-status';
const NOW = Date.parse('2026-11-21T10:00:00.000Z');
const EXPIRES_AT = NOW / 1000 + LIVE_ITEM_TTL_SECONDS;
/** Connection and order of the fixtures in events/live-connections/. */
const CONNECTION = 'L0SM9cOFvHcCIhw=';
const ORDER_ID = '6f1c2a8e-3b4d-8e5f-9a6b-7c8d9e0f1a2b';

const fixture = (name: string) => loadEvent<APIGatewayProxyWebsocketEventV2>(`live-connections/${name}.json`);
const context = testContext('live-connections');

const ddb = mockClient(DynamoDBDocumentClient);
const api = mockClient(ApiGatewayManagementApiClient);
/** The LIVE_CONNECTIONS and ORDER_STATUS tables behind the mocked document client. */
let live: LiveTable;
let orders: FakeTable;
/** Everything written to stdout and stderr while a test runs. */
let output: string[];

const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const handler = createHandler({
  connections: dynamoLiveConnectionsStore(documents, LIVE_TABLE),
  orders: orderStatusReader(documents, ORDERS_TABLE),
  sender: managementApiSender(new ApiGatewayManagementApiClient({ region: 'us-east-1', endpoint: 'http://x/_live' })),
  clock: () => NOW,
});

/** A message event from `connectionId` on `routeKey`. */
function message(body: string, routeKey = 'subscribe', connectionId = CONNECTION): APIGatewayProxyWebsocketEventV2 {
  const event = fixture('subscribe');
  event.body = body;
  event.requestContext.routeKey = routeKey;
  event.requestContext.connectionId = connectionId;
  return event;
}

/** The messages posted, per connection, parsed against the protocol. */
function posted(connectionId = CONNECTION) {
  return api
    .commandCalls(PostToConnectionCommand)
    .filter((call) => call.args[0].input.ConnectionId === connectionId)
    .map((call) => postedMessage(call.args[0].input));
}

/** Seeds CONN# (expiring at 1) and SUB# items as if `connectionId` had subscribed to `targets`. */
const seedSubscriptions = (connectionId: string, targets: readonly string[]) =>
  live.seedSubscriptions(connectionId, targets, { expiresAt: 1 });
const connectionsOf = (target: string) => live.connectionsOf(target);
const subscriptionsOf = (connectionId: string) => live.subscriptionsOf(connectionId);

beforeEach(() => {
  output = captureOutput();
  ddb.reset();
  api.reset();
  live = new LiveTable();
  orders = new FakeTable('orderId');
  live.serve(ddb, LIVE_TABLE);
  ddb.on(GetCommand, { TableName: ORDERS_TABLE }).callsFake(orders.getItem);
  api.on(PostToConnectionCommand).resolves({});
  orders.set(ORDER_ID, {
    orderId: ORDER_ID,
    status: 'CANCELLED',
    reason: 'OUT_OF_STOCK',
    history: [
      { status: 'PLACED', at: '2026-11-21T09:59:58.000Z' },
      { status: 'VALIDATED', at: '2026-11-21T09:59:59.000Z' },
      { status: 'CANCELLED', at: '2026-11-21T09:59:59.500Z' },
    ],
    updatedAt: '2026-11-21T09:59:59.900Z',
  });
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('live-connections handler', () => {
  it('records a new connection on $connect, expiring 2 h 10 min later, and posts nothing', async () => {
    // Act
    const result = await handler(fixture('connect'), context);

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(live.get(`CONN#${CONNECTION}`)).toEqual({
      pk: `CONN#${CONNECTION}`,
      connectedAt: '2026-11-21T10:00:00.000Z',
      expiresAt: EXPIRES_AT,
    });
    expect(api.commandCalls(PostToConnectionCommand)).toHaveLength(0);
  });

  it('subscribes to an order, acknowledges it, then sends its current status', async () => {
    // Prepare
    await handler(fixture('connect'), context);

    // Act
    const result = await handler(fixture('subscribe'), context);

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(subscriptionsOf(CONNECTION)).toEqual(new Set([ORDER_ID]));
    expect(connectionsOf(ORDER_ID)).toEqual(new Set([CONNECTION]));
    expect(live.get(`SUB#${ORDER_ID}`)?.expiresAt).toBe(EXPIRES_AT);
    expect(posted()).toEqual([
      { type: 'subscribed', orderId: ORDER_ID },
      {
        type: 'order.status',
        orderId: ORDER_ID,
        status: 'CANCELLED',
        reason: 'OUT_OF_STOCK',
        at: '2026-11-21T09:59:59.500Z',
      },
    ]);
  });

  it('keeps a subscription to an order with no status yet, and says the order is not found', async () => {
    // Prepare
    orders.clear();

    // Act
    const result = await handler(fixture('subscribe'), context);

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(connectionsOf(ORDER_ID)).toEqual(new Set([CONNECTION]));
    const [ack, notFound] = posted();
    expect(ack).toEqual({ type: 'subscribed', orderId: ORDER_ID });
    expect(notFound).toMatchObject({ type: 'error', code: 'ORDER_NOT_FOUND' });
    expect(notFound?.type === 'error' && notFound.message).toMatch(/stay subscribed/);
  });

  it('subscribes to every order with `*`, without reading any order', async () => {
    // Act
    await handler(fixture('subscribe-all'), context);

    // Assess
    expect(connectionsOf('*')).toEqual(new Set([CONNECTION]));
    expect(posted()).toEqual([{ type: 'subscribed', orderId: '*' }]);
    expect(ddb.commandCalls(GetCommand, { TableName: ORDERS_TABLE })).toHaveLength(0);
  });

  it('keeps every subscriber when connections subscribe to the same order at once', async () => {
    // Act
    await Promise.all(
      ['conn-a', 'conn-b', 'conn-c'].map((id) =>
        handler(message(`{"action":"subscribe","orderId":"${ORDER_ID}"}`, 'subscribe', id), context),
      ),
    );

    // Assess: each write adds its member to the set, none replaces it.
    expect(connectionsOf(ORDER_ID)).toEqual(new Set(['conn-a', 'conn-b', 'conn-c']));
    const updates = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input.UpdateExpression);
    expect(updates.every((expression) => expression?.startsWith('ADD '))).toBe(true);
  });

  it('refuses a subscription past the limit, writing nothing, and answers 200', async () => {
    // Prepare
    const held = Array.from({ length: MAX_SUBSCRIPTIONS_PER_CONNECTION }, (_, i) => `order-${i}`);
    seedSubscriptions(CONNECTION, held);

    // Act
    const result = await handler(fixture('subscribe'), context);

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(posted()).toEqual([
      { type: 'error', code: 'TOO_MANY_SUBSCRIPTIONS', message: expect.stringContaining(`at most ${held.length}`) },
    ]);
    expect(subscriptionsOf(CONNECTION)).toEqual(new Set(held));
    expect(live.has(`SUB#${ORDER_ID}`)).toBe(false);
  });

  it('accepts subscribing again to an order it holds, at the limit', async () => {
    // Prepare
    const held = [ORDER_ID, ...Array.from({ length: MAX_SUBSCRIPTIONS_PER_CONNECTION - 1 }, (_, i) => `order-${i}`)];
    seedSubscriptions(CONNECTION, held);

    // Act
    await handler(fixture('subscribe'), context);

    // Assess
    expect(posted()[0]).toEqual({ type: 'subscribed', orderId: ORDER_ID });
    expect(subscriptionsOf(CONNECTION)).toEqual(new Set(held));
  });

  it.each([
    ['malformed JSON', fixture('malformed'), 'INVALID_JSON'],
    [
      'an oversized message',
      message(`{"action":"subscribe","orderId":"${'x'.repeat(MAX_CLIENT_MESSAGE_BYTES)}"}`),
      'MESSAGE_TOO_LARGE',
    ],
    ['an unknown action on an unknown route', message('{"action":"ping"}', 'ping'), 'INVALID_MESSAGE'],
    ['an extra field', message(`{"action":"subscribe","orderId":"${ORDER_ID}","since":0}`), 'INVALID_MESSAGE'],
    ['an order id that is not one', message('{"action":"subscribe","orderId":"SUB#*"}'), 'INVALID_MESSAGE'],
    ['an empty frame', message('', '$default'), 'INVALID_JSON'],
  ])('answers %s with an error message and 200, writing nothing', async (_name, event, code) => {
    // Act
    const result = await handler(event, context);

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(posted()).toEqual([{ type: 'error', code, message: expect.any(String) }]);
    expect(ddb.calls()).toHaveLength(0);
  });

  it('reads a binary frame as the UTF-8 text API Gateway base64-encoded', async () => {
    // Prepare
    const event = fixture('subscribe-all');
    event.body = Buffer.from(event.body ?? '').toString('base64');
    event.isBase64Encoded = true;

    // Act
    await handler(event, context);

    // Assess
    expect(posted()).toEqual([{ type: 'subscribed', orderId: '*' }]);
  });

  it('unsubscribes from both sides and acknowledges it', async () => {
    // Prepare
    seedSubscriptions(CONNECTION, [ORDER_ID, '*']);
    seedSubscriptions('someone-else', [ORDER_ID]);

    // Act
    const result = await handler(fixture('unsubscribe'), context);

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(posted()).toEqual([{ type: 'unsubscribed', orderId: ORDER_ID }]);
    expect(subscriptionsOf(CONNECTION)).toEqual(new Set(['*']));
    expect(connectionsOf(ORDER_ID)).toEqual(new Set(['someone-else']));
  });

  it('removes the connection from every order it followed on $disconnect, and forgets it', async () => {
    // Prepare
    seedSubscriptions(CONNECTION, [ORDER_ID, 'order-2', '*']);
    seedSubscriptions('someone-else', [ORDER_ID, '*']);

    // Act
    const result = await handler(fixture('disconnect'), context);

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(live.has(`CONN#${CONNECTION}`)).toBe(false);
    expect(connectionsOf(ORDER_ID)).toEqual(new Set(['someone-else']));
    expect(connectionsOf('*')).toEqual(new Set(['someone-else']));
    expect(connectionsOf('order-2')).toBeUndefined();
    expect(live.get('CONN#someone-else')?.subscriptions).toEqual(new Set([ORDER_ID, '*']));
    expect(api.commandCalls(PostToConnectionCommand)).toHaveLength(0);
  });

  it('forgets a connection that closed before its reply was posted', async () => {
    // Prepare
    api.on(PostToConnectionCommand).rejects(new GoneException({ message: 'Gone', $metadata: { httpStatusCode: 410 } }));

    // Act
    const result = await handler(fixture('subscribe'), context);

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(api.commandCalls(PostToConnectionCommand)).toHaveLength(1);
    expect(live.has(`CONN#${CONNECTION}`)).toBe(false);
    expect(connectionsOf(ORDER_ID)).toBeUndefined();
  });

  it('fails when DynamoDB throttles, so API Gateway reports the failure', async () => {
    // Prepare
    ddb.on(UpdateCommand, { TableName: LIVE_TABLE }).rejects(throttled('Rate of requests exceeds'));

    // Act
    const failure = await handler(fixture('subscribe'), context).catch((e: unknown) => e);

    // Assess
    expect(failure).toBeInstanceOf(ProvisionedThroughputExceededException);
    expect(posted()).toHaveLength(0);
  });

  it('logs the connection, action and order of a message, never what else the client sent', async () => {
    // Prepare
    const secret = 'card=4242424242424242';

    // Act
    await handler(fixture('subscribe'), context);
    await handler(message(`{"action":"subscribe","orderId":"${ORDER_ID}","note":"${secret}"}`), context);
    await handler(message(`not json ${secret}`, '$default'), context);

    // Assess
    const logs = output.join('');
    expect(logs).toContain(`"connectionId":"${CONNECTION}"`);
    expect(logs).toContain(`"orderId":"${ORDER_ID}"`);
    expect(logs).toContain('"refused":"INVALID_JSON"');
    expect(logs).not.toContain(secret);
  });
});
