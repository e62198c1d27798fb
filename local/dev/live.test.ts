import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import WebSocket from 'ws';
import { mountRoute, serveOrderApi } from './http.js';
import {
  attachLiveGateway,
  type LiveGateway,
  type LiveGatewayOptions,
  type LiveRouteHandler,
  requestTime,
  selectRoute,
} from './live.js';

/** A route handler that records its events and answers what `answer` says. */
function recordingHandler(answer: LiveRouteHandler = async () => ({ statusCode: 200 })) {
  const events: APIGatewayProxyWebsocketEventV2[] = [];
  const handler: LiveRouteHandler = async (event, context) => {
    events.push(event);
    return answer(event, context);
  };
  return { events, handler };
}

const running: { server: Server; gateway: LiveGateway }[] = [];
afterEach(async () => {
  for (const { server, gateway } of running.splice(0)) {
    await gateway.close();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** The order API with the gateway mounted, on a free port; order-api itself answers 404. */
async function serve(handler: LiveRouteHandler, options: Partial<LiveGatewayOptions> = {}) {
  const server = await serveOrderApi(async () => ({ statusCode: 404, body: '{}' }), { port: 0 });
  const gateway = attachLiveGateway(server, { routeHandler: handler, log: () => {}, ...options });
  mountRoute(server, gateway.handleRequest);
  running.push({ server, gateway });
  const { port } = server.address() as AddressInfo;
  const management = new ApiGatewayManagementApiClient({
    endpoint: `http://127.0.0.1:${port}/_live`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  return { port, gateway, management, url: `ws://127.0.0.1:${port}/live` };
}

/** A client socket once open, with every message it receives and its close code. */
async function connect(url: string) {
  const socket = new WebSocket(url);
  const messages: string[] = [];
  socket.on('message', (data) => messages.push(data.toString()));
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return { socket, messages, closed };
}

/** The HTTP status the upgrade was refused with. */
function refusedWith(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    socket.on('open', () => reject(new Error('the upgrade was accepted')));
    socket.on('error', () => {});
  });
}

async function until(condition: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('selectRoute', () => {
  it('routes a message by its JSON action, anything else to $default', () => {
    expect(selectRoute('{"action":"subscribe","orderId":"o-1"}')).toBe('subscribe');
    expect(selectRoute('{"action":"unsubscribe"}')).toBe('unsubscribe');
    expect(selectRoute('{"action":"dance"}')).toBe('$default');
    expect(selectRoute('{"action":7}')).toBe('$default');
    expect(selectRoute('not json')).toBe('$default');
    expect(selectRoute('null')).toBe('$default');
  });
});

describe('requestTime', () => {
  it('formats the request time as API Gateway does', () => {
    expect(requestTime(Date.UTC(2025, 3, 9, 7, 5, 3))).toBe('09/Apr/2025:07:05:03 +0000');
  });
});

describe('attachLiveGateway', () => {
  it('invokes $connect, the selected routes and $disconnect with API Gateway events', async () => {
    // Prepare
    const { events, handler } = recordingHandler();
    const { url, gateway } = await serve(handler);

    // Act
    const client = await connect(`${url}?token=t-1`);
    client.socket.send('{"action":"subscribe","orderId":"o-1"}');
    client.socket.send('hello');
    await until(() => events.length === 3, 'two messages');
    client.socket.close(1000);
    await until(() => events.length === 4, '$disconnect');

    // Assess
    const [connectEvent, subscribe, other, disconnect] = events;
    const connectionId = connectEvent?.requestContext.connectionId;
    expect(connectionId).toMatch(/^[A-Za-z0-9+/]{14}==?$|^[A-Za-z0-9+/]{16}$/);
    expect(connectEvent).toMatchObject({
      isBase64Encoded: false,
      queryStringParameters: { token: 't-1' },
      requestContext: { routeKey: '$connect', eventType: 'CONNECT', messageDirection: 'IN', stage: 'local' },
    });
    expect((connectEvent as unknown as { headers: Record<string, string> }).headers).toHaveProperty(
      'sec-websocket-key',
    );
    expect(subscribe).toMatchObject({
      body: '{"action":"subscribe","orderId":"o-1"}',
      isBase64Encoded: false,
      requestContext: { routeKey: 'subscribe', eventType: 'MESSAGE', connectionId, apiId: 'local' },
    });
    expect(subscribe?.requestContext.messageId).toEqual(expect.any(String));
    expect(subscribe?.requestContext.connectedAt).toBe(connectEvent?.requestContext.connectedAt);
    expect(subscribe?.requestContext.requestTimeEpoch).toBeGreaterThanOrEqual(
      connectEvent?.requestContext.connectedAt ?? Number.POSITIVE_INFINITY,
    );
    expect(other).toMatchObject({ body: 'hello', requestContext: { routeKey: '$default' } });
    expect(disconnect).toMatchObject({
      requestContext: { routeKey: '$disconnect', eventType: 'DISCONNECT', connectionId, disconnectStatusCode: 1000 },
    });
    expect(gateway.connectionIds()).toEqual([]);
  });

  it('invokes one message at a time per connection, in order', async () => {
    // Prepare
    const log: string[] = [];
    let active = 0;
    let overlapped = false;
    const { url } = await serve(async (event) => {
      if (event.requestContext.eventType !== 'MESSAGE') return { statusCode: 200 };
      active += 1;
      overlapped ||= active > 1;
      // The first message is the slowest: a gateway that did not wait would let the others overtake it.
      await new Promise((resolve) => setTimeout(resolve, event.body === '0' ? 60 : 5));
      log.push(event.body ?? '');
      active -= 1;
      return { statusCode: 200 };
    });
    const client = await connect(url);

    // Act
    for (let i = 0; i < 5; i += 1) client.socket.send(String(i));
    await until(() => log.length === 5, 'five messages');

    // Assess
    expect(log).toEqual(['0', '1', '2', '3', '4']);
    expect(overlapped).toBe(false);
  });

  it('fails the upgrade with 403 when $connect answers non-2xx, and 500 when it throws', async () => {
    // Prepare
    const { url } = await serve(async (event) => {
      if (event.queryStringParameters?.mode === 'throw') throw new Error('boom');
      return { statusCode: 401 };
    });

    // Act
    const denied = await refusedWith(url);
    const failed = await refusedWith(`${url}?mode=throw`);

    // Assess
    expect(denied).toBe(403);
    expect(failed).toBe(500);
  });

  it('closes a connection with 1009 for a frame over 32 KiB and 1003 for a binary frame', async () => {
    // Prepare
    const { events, handler } = recordingHandler();
    const { url } = await serve(handler);
    const big = await connect(url);
    const binary = await connect(url);

    // Act
    big.socket.send('x'.repeat(32 * 1024 + 1));
    binary.socket.send(Buffer.from([1, 2, 3]), { binary: true });

    // Assess
    expect(await big.closed).toBe(1009);
    expect(await binary.closed).toBe(1003);
    expect(events.filter((e) => e.requestContext.eventType === 'MESSAGE')).toEqual([]);
  });

  it('sends Internal server error to the client of a failing route, and other connections carry on', async () => {
    // Prepare
    const handled: string[] = [];
    const { url } = await serve(async (event) => {
      if (event.body === 'fail') throw new Error('boom');
      if (event.body) handled.push(event.body);
      return { statusCode: 200 };
    });
    const failing = await connect(url);
    const other = await connect(url);

    // Act
    failing.socket.send('fail');
    await until(() => failing.messages.length === 1, 'the error message');
    other.socket.send('fine');
    failing.socket.send('again');
    await until(() => handled.length === 2, 'the messages after the failure');

    // Assess
    expect(JSON.parse(failing.messages[0] ?? '{}')).toEqual({
      message: 'Internal server error',
      connectionId: expect.any(String),
      requestId: expect.any(String),
    });
    expect(handled.sort()).toEqual(['again', 'fine']);
    expect(failing.socket.readyState).toBe(WebSocket.OPEN);
    expect(other.messages).toEqual([]);
  });

  it('serves the Management API to the AWS SDK: post, get, delete and GoneException', async () => {
    // Prepare
    const { events, handler } = recordingHandler();
    const { management, url, gateway } = await serve(handler);
    const client = await connect(url);
    const [connectionId] = gateway.connectionIds();
    if (!connectionId) throw new Error('no connection');

    // Act
    await management.send(
      new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from('{"type":"subscribed"}') }),
    );
    await until(() => client.messages.length === 1, 'the posted message');
    const info = await management.send(new GetConnectionCommand({ ConnectionId: connectionId }));
    await management.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    const closeCode = await client.closed;
    await until(() => events.some((e) => e.requestContext.eventType === 'DISCONNECT'), '$disconnect');
    const gone = await management
      .send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from('late') }))
      .catch((error: unknown) => error);

    // Assess
    expect(client.messages).toEqual(['{"type":"subscribed"}']);
    expect(info.ConnectedAt).toBeInstanceOf(Date);
    expect(info.LastActiveAt).toBeInstanceOf(Date);
    expect(info.Identity?.SourceIp).toBe('127.0.0.1');
    expect(closeCode).toBe(1000);
    expect(gone).toBeInstanceOf(GoneException);
    expect((gone as GoneException).$metadata.httpStatusCode).toBe(410);
  });

  it('answers 410 to a post during $connect, before the connection is open', async () => {
    // Prepare
    let posted: unknown;
    const context: { management?: ApiGatewayManagementApiClient } = {};
    const { management, url } = await serve(async (event) => {
      if (event.requestContext.eventType === 'CONNECT') {
        posted = await context.management
          ?.send(
            new PostToConnectionCommand({ ConnectionId: event.requestContext.connectionId, Data: Buffer.from('x') }),
          )
          .catch((error: unknown) => error);
      }
      return { statusCode: 200 };
    });
    context.management = management;

    // Act
    const client = await connect(url);

    // Assess
    expect(posted).toBeInstanceOf(GoneException);
    expect(client.messages).toEqual([]);
  });

  it('answers 413 PayloadTooLargeException to a post over 128 KiB', async () => {
    // Prepare
    const { url, port, gateway } = await serve(async () => ({ statusCode: 200 }));
    await connect(url);
    const [connectionId = ''] = gateway.connectionIds();

    // Act
    const response = await fetch(`http://127.0.0.1:${port}/_live/@connections/${encodeURIComponent(connectionId)}`, {
      method: 'POST',
      body: 'x'.repeat(128 * 1024 + 1),
    });

    // Assess
    expect(response.status).toBe(413);
    expect(response.headers.get('x-amzn-errortype')).toBe('PayloadTooLargeException');
  });

  it('closes a connection idle for longer than the idle timeout with 1001', async () => {
    // Prepare
    const { url } = await serve(async () => ({ statusCode: 200 }), { idleTimeoutMs: 50 });

    // Act
    const client = await connect(url);

    // Assess
    expect(await client.closed).toBe(1001);
  });

  it('leaves requests outside the Management API to order-api', async () => {
    // Prepare
    const { port } = await serve(async () => ({ statusCode: 200 }));

    // Act
    const response = await fetch(`http://127.0.0.1:${port}/orders/o-1`);

    // Assess
    expect(response.status).toBe(404);
  });
});
