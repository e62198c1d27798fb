import {
  ApiGatewayManagementApiClient,
  GoneException,
  LimitExceededException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { EventBridgeEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { type ConnectionSender, managementApiSender } from '../../shared/connection-sender.js';
import { TransientError, ValidationError } from '../../shared/errors.js';
import { dynamoLiveConnectionsStore } from '../../shared/live-connections-store.js';
import { testContext } from '../../shared/testing/context.js';
import { throttled } from '../../shared/testing/fake-table.js';
import { loadEvent } from '../../shared/testing/fixtures.js';
import { LiveTable, postedMessage } from '../../shared/testing/live-table.js';
import { captureOutput } from '../../shared/testing/output.js';
import type { BusDetailType } from '../../shared/topology.js';
import { POST_CONCURRENCY } from './live-notifier.js';
import { createHandler, type LiveNotifierDeps } from './live-notifier-handler.js';

const TABLE = 'orderflow-live-connections';
const NOW = Date.parse('2026-11-21T10:00:05.000Z');
/** The order of events/live-notifier/order-status-changed.json. */
const ORDER_ID = '6f1c2a8e-3b4d-8e5f-9a6b-7c8d9e0f1a2b';

type BusEvent = EventBridgeEvent<BusDetailType, Record<string, unknown>>;
const fixture = (name: string) => loadEvent<BusEvent>(`live-notifier/${name}.json`);
const context = testContext('live-notifier');

const ddb = mockClient(DynamoDBDocumentClient);
const api = mockClient(ApiGatewayManagementApiClient);
/** The LIVE_CONNECTIONS table behind the mocked document client. */
let live: LiveTable;
let output: string[];

const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const connections = dynamoLiveConnectionsStore(documents, TABLE);
const apiSender = managementApiSender(
  new ApiGatewayManagementApiClient({ region: 'us-east-1', endpoint: 'http://x/_live' }),
);

/** The handler over the mocked clients; `overrides` replace deps. */
function handlerWith(overrides: Partial<LiveNotifierDeps> = {}) {
  return createHandler({ connections, sender: apiSender, clock: () => NOW, ...overrides });
}
const handler = handlerWith();

/** Seeds CONN# and SUB# items as if `connectionId` had subscribed to `targets`. */
const seedSubscriptions = (connectionId: string, targets: readonly string[]) =>
  live.seedSubscriptions(connectionId, targets);

/** The connections posted to, in order, with the messages, parsed against the protocol. */
function posts() {
  return api.commandCalls(PostToConnectionCommand).map((call) => ({
    connectionId: call.args[0].input.ConnectionId,
    message: postedMessage(call.args[0].input),
  }));
}

const postedTo = () =>
  posts()
    .map((p) => p.connectionId)
    .sort();
const connectionsOf = (target: string) => live.connectionsOf(target);
const gone = () => new GoneException({ message: 'Gone', $metadata: { httpStatusCode: 410 } });

beforeEach(() => {
  output = captureOutput();
  ddb.reset();
  api.reset();
  live = new LiveTable();
  live.serve(ddb);
  api.on(PostToConnectionCommand).resolves({});
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('live-notifier handler', () => {
  it("posts the transition to the order's subscribers and to `*` subscribers, once each", async () => {
    // Prepare
    seedSubscriptions('conn-order', [ORDER_ID]);
    seedSubscriptions('conn-all', ['*']);
    seedSubscriptions('conn-both', [ORDER_ID, '*']);
    seedSubscriptions('conn-other', ['another-order']);

    // Act
    const summary = await handler(fixture('order-status-changed'), context);

    // Assess
    expect(summary).toEqual({ delivered: 3, gone: 0, failed: 0 });
    expect(postedTo()).toEqual(['conn-all', 'conn-both', 'conn-order']);
    for (const { message } of posts()) {
      expect(message).toEqual({
        type: 'order.status',
        orderId: ORDER_ID,
        status: 'CANCELLED',
        reason: 'OUT_OF_STOCK',
        at: '2026-11-21T10:00:04.250Z',
      });
    }
  });

  it('reads both subscription items in one consistent BatchGetItem', async () => {
    // Act
    await handler(fixture('order-status-changed'), context);

    // Assess
    expect(ddb.commandCalls(BatchGetCommand).map((c) => c.args[0].input)).toEqual([
      { RequestItems: { [TABLE]: { Keys: [{ pk: `SUB#${ORDER_ID}` }, { pk: 'SUB#*' }], ConsistentRead: true } } },
    ]);
  });

  it('leaves out the reason when the transition has none', async () => {
    // Prepare
    seedSubscriptions('conn-order', [ORDER_ID]);
    const event = fixture('order-status-changed');
    event.detail.status = 'VALIDATED';
    event.detail.reason = undefined;

    // Act
    await handler(event, context);

    // Assess
    expect(posts()[0]?.message).toEqual({
      type: 'order.status',
      orderId: ORDER_ID,
      status: 'VALIDATED',
      at: '2026-11-21T10:00:04.250Z',
    });
  });

  it('posts nothing when nobody follows the order', async () => {
    // Prepare
    seedSubscriptions('conn-other', ['another-order']);

    // Act
    const summary = await handler(fixture('order-status-changed'), context);

    // Assess
    expect(summary).toEqual({ delivered: 0, gone: 0, failed: 0 });
    expect(posts()).toHaveLength(0);
  });

  it('forgets a gone connection everywhere, as $disconnect would, and still posts to the others', async () => {
    // Prepare
    seedSubscriptions('conn-gone', [ORDER_ID, 'another-order', '*']);
    seedSubscriptions('conn-live', [ORDER_ID, '*']);
    api.on(PostToConnectionCommand, { ConnectionId: 'conn-gone' }).rejects(gone());

    // Act
    const summary = await handler(fixture('order-status-changed'), context);

    // Assess
    expect(summary).toEqual({ delivered: 1, gone: 1, failed: 0 });
    expect(postedTo()).toEqual(['conn-gone', 'conn-live']);
    expect(live.has('CONN#conn-gone')).toBe(false);
    expect(connectionsOf(ORDER_ID)).toEqual(new Set(['conn-live']));
    expect(connectionsOf('*')).toEqual(new Set(['conn-live']));
    expect(connectionsOf('another-order')).toBeUndefined();
  });

  it('removes a gone connection from where it was found even when its CONN# item is already gone', async () => {
    // Prepare
    seedSubscriptions('conn-stale', [ORDER_ID]);
    live.delete('CONN#conn-stale');
    api.on(PostToConnectionCommand).rejects(gone());

    // Act
    const summary = await handler(fixture('order-status-changed'), context);

    // Assess
    expect(summary).toEqual({ delivered: 0, gone: 1, failed: 0 });
    expect(connectionsOf(ORDER_ID)).toBeUndefined();
  });

  it('does not fail the event when forgetting a gone connection fails', async () => {
    // Prepare
    seedSubscriptions('conn-gone', [ORDER_ID]);
    seedSubscriptions('conn-live', [ORDER_ID]);
    api.on(PostToConnectionCommand, { ConnectionId: 'conn-gone' }).rejects(gone());
    ddb.on(UpdateCommand).rejects(throttled('Rate of requests exceeds'));

    // Act
    const summary = await handler(fixture('order-status-changed'), context);

    // Assess
    expect(summary).toEqual({ delivered: 1, gone: 1, failed: 0 });
    expect(output.join('')).toContain('could not forget a gone connection');
  });

  it('fails with TransientError when a post stays throttled, after posting to every other connection', async () => {
    // Prepare
    for (const id of ['conn-1', 'conn-2', 'conn-3']) seedSubscriptions(id, [ORDER_ID]);
    api
      .on(PostToConnectionCommand, { ConnectionId: 'conn-1' })
      .rejects(new LimitExceededException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } }));

    // Act
    const failure = await handler(fixture('order-status-changed'), context).catch((e: unknown) => e);

    // Assess
    expect(failure).toBeInstanceOf(TransientError);
    expect((failure as Error).message).toBe(
      `could not post ${ORDER_ID}:CANCELLED to 1 of 3 connections: LimitExceededException: Rate exceeded`,
    );
    expect(postedTo()).toEqual(['conn-1', 'conn-2', 'conn-3']);
    expect(connectionsOf(ORDER_ID)).toEqual(new Set(['conn-1', 'conn-2', 'conn-3']));
    const logs = output.join('');
    expect(logs).toContain('"LivePostsFailed":1');
    expect(logs).toContain('"LiveMessagesDelivered":2');
  });

  it('fails when DynamoDB cannot read the subscriptions, so the event is retried', async () => {
    // Prepare
    ddb.on(BatchGetCommand).rejects(throttled('Rate of requests exceeds'));

    // Act
    const failure = await handler(fixture('order-status-changed'), context).catch((e: unknown) => e);

    // Assess
    expect(failure).toBeInstanceOf(ProvisionedThroughputExceededException);
    expect(posts()).toHaveLength(0);
  });

  it('keeps at most POST_CONCURRENCY posts in flight', async () => {
    // Prepare
    for (let i = 0; i < 35; i++) seedSubscriptions(`conn-${i}`, [i % 2 ? ORDER_ID : '*']);
    let inFlight = 0;
    let most = 0;
    const sent: string[] = [];
    const sender: ConnectionSender = {
      send: async (connectionId) => {
        most = Math.max(most, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 2));
        inFlight--;
        sent.push(connectionId);
        return 'sent';
      },
    };

    // Act
    const summary = await handlerWith({ sender })(fixture('order-status-changed'), context);

    // Assess
    expect(summary.delivered).toBe(35);
    expect(new Set(sent).size).toBe(35);
    expect(most).toBe(POST_CONCURRENCY);
  });

  it.each([
    [
      'a detail that breaks the contract',
      fixture('invalid-detail'),
      /^invalid OrderStatusChanged detail: .*status.*occurredAt/,
    ],
    [
      'another detail type',
      { ...fixture('order-status-changed'), 'detail-type': 'OrderConfirmed' as const },
      /^unexpected detail-type "OrderConfirmed"/,
    ],
  ])('fails with ValidationError on %s, reading and posting nothing', async (_name, event, message) => {
    // Act
    const failure = await handler(event, context).catch((e: unknown) => e);

    // Assess
    expect(failure).toBeInstanceOf(ValidationError);
    expect((failure as Error).message).toMatch(message);
    expect(ddb.calls()).toHaveLength(0);
    expect(posts()).toHaveLength(0);
  });
});
