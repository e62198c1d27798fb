import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { retryDelaySeconds } from './eventbridge.js';
import {
  GATEWAY_ANSWERS,
  type HttpApiHandler,
  mountRoute,
  serveOrderApi,
  timeoutAnswer,
  toHttpApiEvent,
} from './http.js';

describe('toHttpApiEvent', () => {
  it('builds a payload 2.0 event for POST /orders with the body', () => {
    const event = toHttpApiEvent('POST', '/orders', { 'content-type': 'application/json' }, Buffer.from('{"a":1}'));

    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /orders',
      rawPath: '/orders',
      body: '{"a":1}',
      isBase64Encoded: false,
      requestContext: { http: { method: 'POST', path: '/orders', sourceIp: '127.0.0.1' }, stage: '$default' },
    });
  });

  it('fills the orderId path parameter for GET /orders/{orderId}', () => {
    const event = toHttpApiEvent('GET', '/orders/abc-123?x=1', {}, Buffer.alloc(0));

    expect(event.routeKey).toBe('GET /orders/{orderId}');
    expect(event.pathParameters).toEqual({ orderId: 'abc-123' });
    expect(event.rawQueryString).toBe('x=1');
    expect(event.body).toBeUndefined();
  });

  it('routes an unknown path to $default', () => {
    expect(toHttpApiEvent('DELETE', '/orders', {}, Buffer.alloc(0)).routeKey).toBe('$default');
  });
});

describe('serveOrderApi', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    jest.restoreAllMocks();
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });

  /** Serves `handler` on a free port (its log lines kept out of the output) and returns its base url. */
  async function serve(handler: HttpApiHandler, timeoutMs?: number): Promise<string> {
    jest.spyOn(console, 'error').mockImplementation(() => {});
    const server = await serveOrderApi(handler, { port: 0, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  const placed: APIGatewayProxyStructuredResultV2 = {
    statusCode: 202,
    headers: { 'content-type': 'application/json', 'x-test': 'yes' },
    body: '{"orderId":"o-1","status":"PLACED"}',
  };

  it('cuts the connection of a route that fails after it started answering, and keeps serving', async () => {
    // Prepare: a route (the dashboard's, say) that fails once its headers are out, as a read from a killed broker.
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const base = await serve(async () => placed);
    const server = servers[0] as Server;
    mountRoute(server, async (req, res) => {
      if (req.url !== '/half') return false;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      throw new Error('broker went away');
    });

    try {
      // Act
      const half = await fetch(`${base}/half`)
        .then((r) => r.text())
        .then(
          () => 'completed',
          () => 'cut',
        );
      await new Promise((resolve) => setTimeout(resolve, 50));
      const health = await fetch(`${base}/healthz`);

      // Assess
      expect(half).toBe('cut');
      expect(health.status).toBe(200);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('answers with the result of a handler that answers in time', async () => {
    // Prepare
    const base = await serve(async (event) => ({ ...placed, body: JSON.stringify({ routeKey: event.routeKey }) }));

    // Act
    const response = await fetch(`${base}/orders`, { method: 'POST', body: '{}' });

    // Assess
    expect(response.status).toBe(202);
    expect(response.headers.get('x-test')).toBe('yes');
    expect(await response.json()).toEqual({ routeKey: 'POST /orders' });
  });

  it('gives the handler a Lambda context counting down from timeoutMs', async () => {
    let remaining: number[] = [];
    const base = await serve(async (_event, context) => {
      remaining = [context.getRemainingTimeInMillis()];
      await new Promise((resolve) => setTimeout(resolve, 50));
      remaining.push(context.getRemainingTimeInMillis());
      return placed;
    }, 2_000);

    await fetch(`${base}/orders`, { method: 'POST', body: '{}' });

    expect(remaining[0]).toBeGreaterThan(1_900);
    expect(remaining[0]).toBeLessThanOrEqual(2_000);
    expect(remaining[1]).toBeLessThanOrEqual((remaining[0] ?? 0) - 40);
  });

  it('fails when the handler does not answer within timeoutMs, as API Gateway answers a function timeout', async () => {
    // Prepare
    const base = await serve(() => new Promise<never>(() => {}), 200);

    // Act
    const started = Date.now();
    const response = await fetch(`${base}/orders`, { method: 'POST', body: '{}' });
    const elapsed = Date.now() - started;

    // Assess
    expect(response.status).toBe(500);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ message: 'Internal Server Error' });
    expect(elapsed).toBeGreaterThanOrEqual(195);
    expect(elapsed).toBeLessThan(1_000);
  });

  it('drops the late answer of a slow handler and keeps serving', async () => {
    const finished: string[] = [];
    const base = await serve(async (event) => {
      if (event.rawPath === '/orders') {
        await new Promise((resolve) => setTimeout(resolve, 300));
        finished.push('slow');
        return placed;
      }
      throw new Error('handler bug');
    }, 200);

    const slow = await fetch(`${base}/orders`, { method: 'POST', body: '{}' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const failing = await fetch(`${base}/orders/o-1`);
    const again = await fetch(`${base}/healthz`);

    expect(finished).toEqual(['slow']);
    expect([slow.status, await slow.json()]).toEqual([500, { message: 'Internal Server Error' }]);
    expect([failing.status, await failing.json()]).toEqual([500, { message: 'Internal Server Error' }]);
    expect(again.status).toBe(200);
  });

  it("answers 503 Service Unavailable when the gateway's 30 s integration timeout comes before the function's", () => {
    expect(timeoutAnswer(10_000)).toBe(GATEWAY_ANSWERS.FUNCTION_ERROR);
    expect(timeoutAnswer(29_999)).toBe(GATEWAY_ANSWERS.FUNCTION_ERROR);
    expect(timeoutAnswer(30_000)).toEqual({ statusCode: 503, body: { message: 'Service Unavailable' } });
    expect(timeoutAnswer(60_000)).toBe(GATEWAY_ANSWERS.INTEGRATION_TIMEOUT);
  });

  it('fails when timeoutMs is not a positive integer', async () => {
    const handler: HttpApiHandler = async () => placed;

    await expect(serveOrderApi(handler, { port: 0, timeoutMs: 0 })).rejects.toThrow(
      'timeoutMs must be a positive integer, got 0',
    );
  });
});

describe('local EventBridge delivery', () => {
  it('backs off exponentially up to a minute', () => {
    expect([1, 2, 3, 7, 20].map(retryDelaySeconds)).toEqual([1, 2, 4, 60, 60]);
  });
});
