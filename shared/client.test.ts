import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import WebSocket, { WebSocketServer } from 'ws';
import {
  backoffDelayMs,
  createOrderflowClient,
  OrderflowApiError,
  statusRank,
  type WebSocketConstructor,
} from './client.js';
import type { OrderStatusMessage } from './live-protocol.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** An HTTP server answering `answer`, recording requests; its base URL. */
async function httpServer(
  answer: (req: IncomingMessage, body: string) => { status: number; body: string; headers?: Record<string, string> },
) {
  const requests: { method?: string; url?: string; headers: IncomingMessage['headers']; body: string }[] = [];
  const server: Server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    requests.push({ method: req.method, url: req.url, headers: req.headers, body });
    const a = answer(req, body);
    res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers }).end(a.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return { requests, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** A ws server on a free port; `onSubscribe` runs for each subscribe message, with its socket. */
async function liveServer(onSubscribe: (socket: WebSocket, n: number) => void) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const received: string[] = [];
  let subscriptions = 0;
  wss.on('connection', (socket) => {
    socket.on('message', (data) => {
      received.push(data.toString());
      subscriptions += 1;
      onSubscribe(socket, subscriptions);
    });
  });
  closers.push(
    () =>
      new Promise((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  );
  return { received, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/live` };
}

const status = (s: OrderStatusMessage['status']) =>
  JSON.stringify({ type: 'order.status', orderId: 'ord_1', status: s, at: '2025-11-21T04:40:00.000Z' });

async function until(condition: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const order = {
  customerId: 'c-1',
  email: 'ada@example.com',
  currency: 'EUR',
  items: [{ sku: 'SKU-BOOK', quantity: 1 }],
} as const;

describe('statusRank and backoffDelayMs', () => {
  it('ranks PLACED < VALIDATED < the final statuses', () => {
    expect(statusRank('PLACED')).toBeLessThan(statusRank('VALIDATED'));
    expect(statusRank('VALIDATED')).toBeLessThan(statusRank('CONFIRMED'));
    expect(statusRank('CANCELLED')).toBe(statusRank('REJECTED'));
  });

  it('draws a delay below base · 2^attempt, capped', () => {
    expect(backoffDelayMs(0, 500, 30_000, () => 0.999)).toBe(499);
    expect(backoffDelayMs(3, 500, 30_000, () => 0.5)).toBe(2_000);
    expect(backoffDelayMs(20, 500, 30_000, () => 0.999)).toBe(29_970);
    expect(backoffDelayMs(5, 500, 30_000, () => 0)).toBe(0);
  });
});

describe('createOrderflowClient over HTTP', () => {
  it('places an order with its idempotency key', async () => {
    // Prepare
    const { requests, baseUrl } = await httpServer(() => ({
      status: 202,
      body: '{"orderId":"ord_1","status":"PLACED"}',
    }));
    const client = createOrderflowClient({ baseUrl: `${baseUrl}/` });

    // Act
    const placed = await client.placeOrder(order, { idempotencyKey: 'key-1' });

    // Assess
    expect(placed).toEqual({ orderId: 'ord_1', status: 'PLACED' });
    expect(requests[0]).toMatchObject({ method: 'POST', url: '/orders', body: JSON.stringify(order) });
    expect(requests[0]?.headers['idempotency-key']).toBe('key-1');
    expect(requests[0]?.headers['content-type']).toBe('application/json');
  });

  it('fails with the status and the error body the API answered', async () => {
    // Prepare
    const { baseUrl } = await httpServer((req) =>
      req.method === 'GET'
        ? { status: 404, body: '{"error":"order not found"}' }
        : { status: 503, body: '{"error":"Kafka unavailable"}', headers: { 'retry-after': '2' } },
    );
    const client = createOrderflowClient({ baseUrl });

    // Act
    const missing = await client.getOrder('ord/2').catch((error: unknown) => error);
    const unavailable = await client.placeOrder(order, { idempotencyKey: 'k' }).catch((error: unknown) => error);

    // Assess
    expect(missing).toBeInstanceOf(OrderflowApiError);
    expect(missing).toMatchObject({ status: 404, body: { error: 'order not found' } });
    expect(unavailable).toMatchObject({ status: 503, retryAfterSeconds: 2, body: { error: 'Kafka unavailable' } });
  });

  it('signs requests with SigV4 for execute-api when given credentials', async () => {
    // Prepare
    const { requests, baseUrl } = await httpServer(() => ({ status: 200, body: '{"orderId":"ord_1"}' }));
    const client = createOrderflowClient({
      baseUrl,
      signing: { region: 'eu-west-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } },
    });

    // Act
    await client.getOrder('ord_1');

    // Assess
    const authorization = String(requests[0]?.headers.authorization);
    expect(authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request/,
    );
    expect(authorization).toContain('SignedHeaders=');
    expect(requests[0]?.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
  });

  it('presigns the $connect URL', async () => {
    // Prepare
    const client = createOrderflowClient({
      baseUrl: 'https://api.example.com',
      liveUrl: 'wss://abc123.execute-api.eu-west-1.amazonaws.com/live',
      signing: { region: 'eu-west-1', credentials: async () => ({ accessKeyId: 'AKID', secretAccessKey: 's' }) },
    });

    // Act
    const url = new URL(await client.presignLiveUrl(30));

    // Assess
    expect(url.protocol).toBe('wss:');
    expect(url.pathname).toBe('/live');
    expect(url.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('30');
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^AKID\/\d{8}\/eu-west-1\/execute-api\/aws4_request$/);
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('watchOrder', () => {
  it('delivers each new status once, drops repeats and regressions, and resubscribes after a reconnect', async () => {
    // Prepare
    const { received, url } = await liveServer((socket, n) => {
      socket.send(JSON.stringify({ type: 'subscribed', orderId: 'ord_1' }));
      if (n === 1) {
        for (const s of ['PLACED', 'PLACED', 'VALIDATED', 'PLACED'] as const) socket.send(status(s));
        setTimeout(() => socket.terminate(), 50);
      } else {
        // The current status first, as a resubscription gets it, then the final one.
        socket.send(status('VALIDATED'));
        socket.send(status('CONFIRMED'));
        socket.send(status('CANCELLED'));
      }
    });
    const client = createOrderflowClient({
      baseUrl: 'http://127.0.0.1:1',
      liveUrl: url,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
    });
    const statuses: string[] = [];

    // Act
    const watch = client.watchOrder('ord_1', (m) => statuses.push(m.status), { backoffBaseMs: 20 });
    await until(() => statuses.includes('CONFIRMED'), 'the final status');
    await new Promise((resolve) => setTimeout(resolve, 100));
    watch.close();

    // Assess
    expect(statuses).toEqual(['PLACED', 'VALIDATED', 'CONFIRMED']);
    expect(received).toEqual(['{"action":"subscribe","orderId":"ord_1"}', '{"action":"subscribe","orderId":"ord_1"}']);
  });

  it('reports the server errors and keeps watching', async () => {
    // Prepare
    const { url } = await liveServer((socket) => {
      socket.send(JSON.stringify({ type: 'error', code: 'INVALID_MESSAGE', message: 'orderId: invalid' }));
      socket.send(JSON.stringify({ message: 'Internal server error', connectionId: 'c', requestId: 'r' }));
      socket.send(status('PLACED'));
    });
    const client = createOrderflowClient({
      baseUrl: 'http://127.0.0.1:1',
      liveUrl: url,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
    });
    const errors: string[] = [];
    const statuses: string[] = [];

    // Act
    const watch = client.watchOrder('ord_1', (m) => statuses.push(m.status), {
      onError: (e) => errors.push(e.message),
    });
    await until(() => statuses.length === 1, 'the status');
    watch.close();

    // Assess
    expect(errors[0]).toBe('INVALID_MESSAGE: orderId: invalid');
    expect(errors[1]).toContain('Internal server error');
    expect(statuses).toEqual(['PLACED']);
  });

  it('fails when there is no WebSocket to use', () => {
    // Prepare
    const client = createOrderflowClient({ baseUrl: 'http://127.0.0.1:1' });
    const global = globalThis as { WebSocket?: unknown };
    const saved = global.WebSocket;
    delete global.WebSocket;

    // Act + Assess
    try {
      expect(() => client.watchOrder('ord_1', () => {})).toThrow(/pass WebSocket/);
    } finally {
      if (saved) global.WebSocket = saved;
    }
  });
});
