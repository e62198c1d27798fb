import { describe, expect, it } from '@jest/globals';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { EncodeContext } from '../../shared/codec.js';
import type { OrderflowEvent } from '../../shared/events.js';
import { derivedId } from '../../shared/ids.js';
import type { EventPublisher, SendOptions } from '../../shared/kafka.js';
import { testContext } from '../../shared/testing/context.js';
import { loadEvent } from '../../shared/testing/fixtures.js';
import {
  getOrder,
  IdempotencyConflictError,
  type IdempotencyGuard,
  type PlacedOrder,
  placeOrder,
  publishBudgetMs,
  RequestInProgressError,
} from './order-api.js';
import { MAX_BODY_BYTES, type OrderApiHttpPorts, orderApi } from './order-api-routes.js';

const NOW = 1_795_255_200_000;

/**
 * A publisher that keeps what it published, and can be told to fail like a broker that is away, or to hang like
 * one that stopped answering (ignoring the signal it is given, which it keeps).
 */
class FakePublisher implements EventPublisher {
  readonly published: { events: readonly OrderflowEvent[]; context: EncodeContext | undefined }[] = [];
  readonly signals: (AbortSignal | undefined)[] = [];
  failure: Error | undefined;
  hangs = false;

  async publish(events: readonly OrderflowEvent[], context?: EncodeContext, options?: SendOptions): Promise<void> {
    this.signals.push(options?.signal);
    if (this.hangs) await new Promise<never>(() => {});
    if (this.failure) throw this.failure;
    this.published.push({ events, context });
  }

  get events(): OrderflowEvent[] {
    return this.published.flatMap((p) => p.events);
  }
}

/** A guard remembering first results by key, like the idempotency table, and able to simulate a lost record. */
class FakeGuard implements IdempotencyGuard {
  readonly results = new Map<string, { body: string; placed: PlacedOrder }>();

  async once(
    request: Parameters<IdempotencyGuard['once']>[0],
    place: () => Promise<PlacedOrder>,
  ): Promise<PlacedOrder> {
    const key = `${request.customerId}\u0000${request.idempotencyKey}`;
    const body = JSON.stringify(request.order);
    const previous = this.results.get(key);
    if (previous) {
      if (previous.body !== body) throw new IdempotencyConflictError('other body');
      return previous.placed;
    }
    const placed = await place();
    this.results.set(key, { body, placed });
    return placed;
  }
}

function ports(overrides: Partial<OrderApiHttpPorts> = {}) {
  let counter = 0;
  const publisher = new FakePublisher();
  const rows = new Map<string, Record<string, unknown>>();
  const lookups: string[] = [];
  const guard = new FakeGuard();
  const logged: string[] = [];
  const counted: string[] = [];
  const all: OrderApiHttpPorts = {
    publisher,
    clock: { now: () => NOW },
    ids: { newId: () => `00000000-0000-4000-8000-${String(++counter).padStart(12, '0')}` },
    orders: {
      get: async (orderId) => {
        lookups.push(orderId);
        return rows.get(orderId);
      },
    },
    idempotency: guard,
    log: {
      debug: () => {},
      info: (message) => logged.push(String(message)),
      warn: (message) => logged.push(String(message)),
      error: (message) => logged.push(String(message)),
    },
    metrics: { addMetric: (name) => counted.push(name) },
    ...overrides,
  };
  return { ports: all, publisher, rows, lookups, guard, logged, counted };
}

/**
 * One request through the order API, as the Lambda handler makes it; `remainingTimeMs` stands for the invocation's
 * remaining time (30 s when not given).
 */
function handleRequest(
  event: APIGatewayProxyEventV2,
  p: OrderApiHttpPorts,
  options: { remainingTimeMs?: () => number } = {},
): Promise<APIGatewayProxyStructuredResultV2> {
  const { remainingTimeMs } = options;
  return orderApi(p)(
    event,
    testContext('order-api', remainingTimeMs ? { getRemainingTimeInMillis: remainingTimeMs } : {}),
  );
}

const validOrder = {
  customerId: 'cust-1',
  email: 'ada@example.com',
  currency: 'EUR',
  items: [{ sku: 'SKU-BOOK', quantity: 2 }],
};

function post(body: unknown, headers: Record<string, string> = {}): APIGatewayProxyEventV2 {
  const event = loadEvent<APIGatewayProxyEventV2>('order-api/post-order.json');
  event.headers = { 'content-type': 'application/json', ...headers };
  event.body = typeof body === 'string' ? body : JSON.stringify(body);
  return event;
}

function request(method: string, path: string, routeKey = '$default'): APIGatewayProxyEventV2 {
  const event = loadEvent<APIGatewayProxyEventV2>('order-api/get-order.json');
  event.routeKey = routeKey;
  event.rawPath = path;
  event.requestContext.http.method = method;
  event.requestContext.http.path = path;
  delete event.pathParameters;
  return event;
}

function bodyOf(result: APIGatewayProxyStructuredResultV2): Record<string, unknown> {
  expect(result.headers?.['content-type']).toBe('application/json');
  return JSON.parse(result.body ?? '') as Record<string, unknown>;
}

describe('placeOrder', () => {
  it('publishes OrderPlaced with a fresh orderId and an eventId derived from it', async () => {
    // Prepare
    const { ports: p, publisher } = ports();

    // Act
    const placed = await placeOrder({ order: { ...validOrder, currency: 'EUR' }, correlationId: 'corr-1' }, p);

    // Assess
    expect(placed).toEqual({ orderId: '00000000-0000-4000-8000-000000000001', status: 'PLACED' });
    expect(publisher.events).toEqual([
      {
        type: 'OrderPlaced',
        eventId: derivedId('order-api', placed.orderId, 'OrderPlaced'),
        orderId: placed.orderId,
        occurredAt: NOW,
        correlationId: 'corr-1',
        customerId: 'cust-1',
        email: 'ada@example.com',
        currency: 'EUR',
        items: [{ sku: 'SKU-BOOK', quantity: 2 }],
        paymentToken: null,
      },
    ]);
  });

  it('derives the orderId from customer and Idempotency-Key, so a lost idempotency record names the same order', async () => {
    const { ports: p, publisher } = ports();
    const command = { order: { ...validOrder, currency: 'EUR' as const }, correlationId: 'c', idempotencyKey: 'k-1' };

    const first = await placeOrder(command, p);
    const second = await placeOrder(command, p);

    expect(first.orderId).toBe(derivedId('order-api', 'cust-1', 'k-1'));
    expect(second).toEqual(first);
    expect(publisher.events.map((e) => e.eventId)).toEqual([
      derivedId('order-api', first.orderId, 'OrderPlaced'),
      derivedId('order-api', first.orderId, 'OrderPlaced'),
    ]);
  });

  it('fails with a TransientError when the publisher fails', async () => {
    const { ports: p, publisher } = ports();
    publisher.failure = new Error('broker not available');

    await expect(
      placeOrder({ order: { ...validOrder, currency: 'EUR' }, correlationId: 'c' }, p),
    ).rejects.toMatchObject({ name: 'TransientError', cause: publisher.failure });
  });
});

describe('handleRequest POST /orders', () => {
  it('answers 202 with the orderId once published, carrying correlation id, token and traceparent', async () => {
    const { ports: p, publisher } = ports();
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

    const result = await handleRequest(
      post({ ...validOrder, paymentToken: 'tok_1' }, { 'x-correlation-id': 'corr-9', traceparent }),
      p,
    );

    expect(result.statusCode).toBe(202);
    expect(bodyOf(result)).toEqual({ orderId: '00000000-0000-4000-8000-000000000001', status: 'PLACED' });
    expect(publisher.published).toHaveLength(1);
    expect(publisher.published[0]?.context).toEqual({ traceparent });
    expect(publisher.events[0]).toMatchObject({ correlationId: 'corr-9', paymentToken: 'tok_1' });
  });

  it('creates a correlation id when the request has none or an unusable one, and a new order per request', async () => {
    const { ports: p, publisher } = ports();

    const first = bodyOf(await handleRequest(post(validOrder, { 'x-correlation-id': 'x\ny'.repeat(100) }), p));
    const second = bodyOf(await handleRequest(post(validOrder), p));

    expect([first.orderId, second.orderId]).toEqual([
      '00000000-0000-4000-8000-000000000002',
      '00000000-0000-4000-8000-000000000004',
    ]);
    expect(publisher.events.map((e) => [e.orderId, e.correlationId])).toEqual([
      ['00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001'],
      ['00000000-0000-4000-8000-000000000004', '00000000-0000-4000-8000-000000000003'],
    ]);
  });

  it('fails when the body is not JSON, with a 400 naming the body and nothing published', async () => {
    const { ports: p, publisher } = ports();

    const result = await handleRequest(post('{"customerId": "cust-1",'), p);

    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toEqual({
      error: 'request body is not valid JSON',
      details: [{ field: 'body', message: expect.any(String) }],
    });
    expect(publisher.published).toHaveLength(0);
  });

  it('fails when fields are invalid, with a 400 naming each of them', async () => {
    const { ports: p, publisher } = ports();

    const result = await handleRequest(
      post({
        email: 'nope',
        currency: 'JPY',
        items: [
          { sku: 'SKU-BOOK', quantity: 0 },
          { sku: '', quantity: 1.5 },
        ],
      }),
      p,
    );

    expect(result.statusCode).toBe(400);
    const body = bodyOf(result) as { details: { field: string }[] };
    expect(body.details.map((d) => d.field).sort()).toEqual([
      'currency',
      'customerId',
      'email',
      'items.0.quantity',
      'items.1.quantity',
      'items.1.sku',
    ]);
    expect(publisher.published).toHaveLength(0);
  });

  it('fails when there are no items or more than 50', async () => {
    const { ports: p } = ports();
    const item = { sku: 'SKU-BOOK', quantity: 1 };

    const none = bodyOf(await handleRequest(post({ ...validOrder, items: [] }), p));
    const many = bodyOf(await handleRequest(post({ ...validOrder, items: Array.from({ length: 51 }, () => item) }), p));

    expect(none.details).toEqual([{ field: 'items', message: expect.stringContaining('1') }]);
    expect(many.details).toEqual([{ field: 'items', message: expect.stringContaining('50') }]);
  });

  it('fails with 413 when the decoded body is over 64 KiB, counting bytes rather than characters', async () => {
    const { ports: p, publisher } = ports();
    // 'é' is two UTF-8 bytes: fewer characters than the limit, more bytes.
    const multibyte = post(JSON.stringify({ ...validOrder, customerId: 'é'.repeat(MAX_BODY_BYTES / 2 + 1) }));
    const base64 = post(Buffer.from(' '.repeat(MAX_BODY_BYTES + 1)).toString('base64'));
    base64.isBase64Encoded = true;

    const results = [await handleRequest(multibyte, p), await handleRequest(base64, p)];

    expect(multibyte.body?.length).toBeLessThan(MAX_BODY_BYTES);
    expect(results.map((r) => r.statusCode)).toEqual([413, 413]);
    expect(bodyOf(results[1] ?? {})).toEqual({ error: expect.stringContaining('65537 bytes') });
    expect(publisher.published).toHaveLength(0);
  });

  it('accepts a base64-encoded body under the limit', async () => {
    const { ports: p, publisher } = ports();
    const event = post(Buffer.from(JSON.stringify(validOrder)).toString('base64'));
    event.isBase64Encoded = true;

    const result = await handleRequest(event, p);

    expect(result.statusCode).toBe(202);
    expect(publisher.events[0]).toMatchObject({ customerId: 'cust-1', items: [{ sku: 'SKU-BOOK', quantity: 2 }] });
  });

  it('replays the first answer to a retry with the same Idempotency-Key and publishes once', async () => {
    const { ports: p, publisher } = ports();
    const event = post(validOrder, { 'idempotency-key': 'checkout-42' });

    const first = await handleRequest(structuredClone(event), p);
    const retry = await handleRequest(structuredClone(event), p);

    expect(retry).toEqual(first);
    expect(bodyOf(first).orderId).toBe(derivedId('order-api', 'cust-1', 'checkout-42'));
    expect(publisher.events).toHaveLength(1);
  });

  it('fails with 422 when the Idempotency-Key was used with another body', async () => {
    const { ports: p, publisher } = ports();

    await handleRequest(post(validOrder, { 'idempotency-key': 'k' }), p);
    const result = await handleRequest(post({ ...validOrder, currency: 'USD' }, { 'idempotency-key': 'k' }), p);

    expect(result.statusCode).toBe(422);
    expect(bodyOf(result).error).toContain('Idempotency-Key');
    expect(publisher.events).toHaveLength(1);
  });

  it('fails with 409 and Retry-After while the first request with the key is in progress', async () => {
    const { ports: p, publisher } = ports({
      idempotency: {
        once: async () => {
          throw new RequestInProgressError('in progress');
        },
      },
    });

    const result = await handleRequest(post(validOrder, { 'idempotency-key': 'k' }), p);

    expect(result.statusCode).toBe(409);
    expect(result.headers?.['retry-after']).toBe('2');
    expect(publisher.published).toHaveLength(0);
  });

  it('fails with 400 when the Idempotency-Key is too long', async () => {
    const { ports: p, publisher } = ports();

    const result = await handleRequest(post(validOrder, { 'idempotency-key': 'k'.repeat(256) }), p);

    expect(result.statusCode).toBe(400);
    expect(bodyOf(result).details).toEqual([{ field: 'Idempotency-Key', message: 'must be 1 to 255 characters' }]);
    expect(publisher.published).toHaveLength(0);
  });

  it('fails with 503 and Retry-After when Kafka is away, and a retry with the key then places the order', async () => {
    const { ports: p, publisher, guard } = ports();
    publisher.failure = new Error('KafkaJSNumberOfRetriesExceeded');
    const event = post(validOrder, { 'idempotency-key': 'k' });

    const failed = await handleRequest(structuredClone(event), p);
    publisher.failure = undefined;
    const retried = await handleRequest(structuredClone(event), p);

    expect(failed.statusCode).toBe(503);
    expect(failed.headers?.['retry-after']).toBe('2');
    expect(bodyOf(failed)).toEqual({ error: expect.any(String) });
    expect(retried.statusCode).toBe(202);
    expect(publisher.events).toHaveLength(1);
    expect(guard.results.size).toBe(1);
  });
});

describe('handleRequest POST /orders within the invocation timeout', () => {
  /** Remaining time of an invocation that ends `ms` from now, as Lambda's context counts it. */
  function endingIn(ms: number): () => number {
    const deadline = Date.now() + ms;
    return () => Math.max(0, deadline - Date.now());
  }

  it('keeps 1 s of the remaining time back from publishing, or a fifth when less than 5 s is left', () => {
    expect([10_000, 5_000, 2_000, 300, 0].map(publishBudgetMs)).toEqual([9_000, 4_000, 1_600, 240, 0]);
  });

  it('fails with 503 and Retry-After before the invocation ends when publishing hangs', async () => {
    // Prepare
    const { ports: p, publisher } = ports();
    publisher.hangs = true;

    // Act
    const started = Date.now();
    const result = await handleRequest(post(validOrder), p, { remainingTimeMs: endingIn(500) });
    const elapsed = Date.now() - started;

    // Assess
    expect(result.statusCode).toBe(503);
    expect(result.headers?.['retry-after']).toBe('2');
    expect(bodyOf(result)).toEqual({ error: 'the order could not be placed now; retry later' });
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(500);
    expect(publisher.signals[0]?.aborted).toBe(true);
    expect(publisher.published).toHaveLength(0);
  });

  it('releases the Idempotency-Key when publishing hangs, so a retry places the order', async () => {
    const { ports: p, publisher, guard } = ports();
    const event = post(validOrder, { 'idempotency-key': 'k-slow' });
    publisher.hangs = true;

    const failed = await handleRequest(structuredClone(event), p, { remainingTimeMs: endingIn(200) });
    publisher.hangs = false;
    const retried = await handleRequest(structuredClone(event), p, { remainingTimeMs: endingIn(200) });

    expect(failed.statusCode).toBe(503);
    expect(retried.statusCode).toBe(202);
    expect(bodyOf(retried).orderId).toBe(derivedId('order-api', 'cust-1', 'k-slow'));
    expect(guard.results.size).toBe(1);
  });

  it('gives the publisher the deadline as a signal, and answers 202 when it publishes in time', async () => {
    const { ports: p, publisher } = ports();

    const result = await handleRequest(post(validOrder), p, { remainingTimeMs: endingIn(10_000) });

    expect(result.statusCode).toBe(202);
    expect(publisher.events).toHaveLength(1);
    expect(publisher.signals[0]).toBeInstanceOf(AbortSignal);
    expect(publisher.signals[0]?.aborted).toBe(false);
  });

  it('fails with 503 without publishing when no time is left', async () => {
    const { ports: p, publisher } = ports();

    const result = await handleRequest(post(validOrder), p, { remainingTimeMs: () => 0 });

    expect(result.statusCode).toBe(503);
    expect(result.headers?.['retry-after']).toBe('2');
    expect(publisher.signals).toHaveLength(0);
  });
});

describe('getOrder', () => {
  const orderId = derivedId('order-api', 'cust-1', 'k');

  it('returns the status row without bookkeeping or PII', async () => {
    // Prepare: the row is what a client may see plus the PII and bookkeeping order-status keeps
    const { ports: p, rows } = ports();
    const visible = {
      orderId,
      status: 'CANCELLED',
      reason: 'OUT_OF_STOCK',
      currency: 'EUR',
      items: [{ sku: 'SKU-GONE', quantity: 1 }],
      totalCents: 999,
      history: [
        { status: 'PLACED', at: '2026-11-21T10:00:00.000Z' },
        { status: 'CANCELLED', at: '2026-11-21T10:00:01.000Z' },
      ],
    };
    rows.set(orderId, {
      ...visible,
      customerId: 'cust-1',
      email: 'ada@example.com',
      appliedEventIds: ['e-1', 'e-2'],
      version: 3,
    });

    // Act
    const view = await getOrder(orderId, p.orders);

    // Assess
    expect(view).toEqual(visible);
  });

  it('returns undefined for an order order-status has not written yet', async () => {
    const { ports: p, lookups } = ports();

    expect(await getOrder(orderId, p.orders)).toBeUndefined();
    expect(lookups).toEqual([orderId]);
  });

  it('does not look up an id that cannot be an order id', async () => {
    const { ports: p, lookups } = ports();

    expect(await getOrder('../../etc', p.orders)).toBeUndefined();
    expect(lookups).toEqual([]);
  });
});

describe('handleRequest routing', () => {
  it('serves GET /orders/{orderId} with 200, and 404 for an unknown order', async () => {
    const { ports: p, rows } = ports();
    const orderId = '6f1c2a8e-3b4d-8e5f-9a6b-7c8d9e0f1a2b';
    rows.set(orderId, { orderId, status: 'PLACED', history: [{ status: 'PLACED', at: '2026-11-21T10:00:00.000Z' }] });

    const found = await handleRequest(loadEvent('order-api/get-order.json'), p);
    const missing = await handleRequest(loadEvent('order-api/get-order-unknown.json'), p);

    expect(found.statusCode).toBe(200);
    expect(bodyOf(found)).toEqual({
      orderId,
      status: 'PLACED',
      history: [{ status: 'PLACED', at: expect.any(String) }],
    });
    expect(missing.statusCode).toBe(404);
    expect(bodyOf(missing)).toEqual({ error: expect.stringContaining('not found') });
  });

  it('routes on method and path when the route key is $default (local dev server)', async () => {
    const { ports: p, publisher } = ports();
    const event = post(validOrder);
    event.routeKey = '$default';

    const result = await handleRequest(event, p);

    expect(result.statusCode).toBe(202);
    expect(publisher.events).toHaveLength(1);
  });

  it('answers 405 with Allow for a known path and another method, 404 for an unknown path', async () => {
    const { ports: p } = ports();

    const deleteOrders = await handleRequest(request('DELETE', '/orders'), p);
    const postOrder = await handleRequest(request('POST', '/orders/6f1c2a8e-3b4d-8e5f-9a6b-7c8d9e0f1a2b'), p);
    const unknown = await handleRequest(request('GET', '/customers'), p);

    expect([deleteOrders.statusCode, postOrder.statusCode, unknown.statusCode]).toEqual([405, 405, 404]);
    expect([deleteOrders.headers?.allow, postOrder.headers?.allow]).toEqual(['POST', 'GET']);
    expect(bodyOf(unknown)).toEqual({ error: 'no route for GET /customers' });
  });

  it('answers what the router cannot turn into a Fetch Request: a GET with a body, header values beyond Latin-1', async () => {
    // Prepare: event-handler 2.35 throws on both while building its Request, before any route runs
    const { ports: p, rows, publisher } = ports();
    const orderId = '6f1c2a8e-3b4d-8e5f-9a6b-7c8d9e0f1a2b';
    rows.set(orderId, { orderId, status: 'PLACED', history: [] });
    const getWithBody = loadEvent<APIGatewayProxyEventV2>('order-api/get-order.json');
    getWithBody.body = '{"ignored": true}';
    const keyed = post(validOrder, { 'idempotency-key': 'clé-€-1', 'x-forwarded-proto': 'not a scheme' });

    // Act
    const found = await handleRequest(getWithBody, p);
    const placed = await handleRequest(keyed, p);

    // Assess
    expect(found.statusCode).toBe(200);
    expect(bodyOf(found)).toMatchObject({ orderId, status: 'PLACED' });
    expect(placed.statusCode).toBe(202);
    expect(bodyOf(placed).orderId).toBe(derivedId('order-api', 'cust-1', 'clé-€-1'));
    expect(publisher.events).toHaveLength(1);
  });

  it('answers 404 for an order id the router cannot decode or finds blank, without looking it up', async () => {
    const { ports: p, lookups } = ports();

    const malformed = await handleRequest(request('GET', '/orders/%E0%A4%A'), p);
    const blank = await handleRequest(request('GET', '/orders/%20'), p);

    expect([malformed.statusCode, blank.statusCode]).toEqual([404, 404]);
    expect(bodyOf(malformed)).toEqual({ error: 'order %E0%A4%A not found' });
    expect(bodyOf(blank)).toEqual({ error: 'order %20 not found' });
    expect(lookups).toEqual([]);
  });

  it('routes a lower-case method and a path with a trailing slash', async () => {
    const { ports: p, publisher } = ports();
    const event = post(validOrder);
    event.routeKey = '$default';
    event.rawPath = '/orders/';
    event.requestContext.http.method = 'post';

    const result = await handleRequest(event, p);

    expect(result.statusCode).toBe(202);
    expect(publisher.events).toHaveLength(1);
  });

  it('counts every answer by status class, and order requests by outcome', async () => {
    const { ports: p, publisher, counted } = ports();

    await handleRequest(post(validOrder), p);
    await handleRequest(post({ ...validOrder, items: [] }), p);
    publisher.failure = new Error('broker not available');
    await handleRequest(post(validOrder), p);
    await handleRequest(request('GET', '/customers'), p);

    expect(counted).toEqual([
      'OrderRequestsAccepted',
      'Http2xx',
      'OrderRequestsRefused',
      'Http4xx',
      'OrderRequestsUnavailable',
      'Http5xx',
      'Http4xx',
    ]);
  });

  it('fails with a JSON 500 when the status table cannot be read', async () => {
    const { ports: p, logged } = ports({
      orders: {
        get: async () => {
          throw new Error('ProvisionedThroughputExceededException');
        },
      },
    });

    const result = await handleRequest(loadEvent('order-api/get-order.json'), p);

    expect(result.statusCode).toBe(500);
    expect(bodyOf(result)).toEqual({ error: 'internal error' });
    expect(logged).toEqual(['request failed']);
  });
});
