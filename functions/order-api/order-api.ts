/**
 * The order API's logic: route an HTTP API (payload 2.0) request, validate a new order, publish OrderPlaced and
 * answer only once the broker acknowledged it; read an order's status. Ports are injected, so the same code runs
 * in Lambda, behind the local dev server and in jest.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as z from 'zod';
import { abandonedOnAbort } from '../../shared/abort.js';
import { OrderflowError, TransientError } from '../../shared/errors.js';
import { CURRENCIES, type EventOf } from '../../shared/events.js';
import { derivedId } from '../../shared/ids.js';
import type { EventPublisher } from '../../shared/kafka.js';
import { logger, metrics } from '../../shared/observability.js';

/** Largest accepted request body, counted in decoded bytes (API Gateway itself accepts up to 10 MB). */
export const MAX_BODY_BYTES = 64 * 1024;

/** Seconds a client is told to wait before retrying a 409 or 503. */
export const RETRY_AFTER_SECONDS = 2;

/**
 * Milliseconds of the invocation kept back from publishing (a fifth of what is left, when that is under 5 s): time
 * to release the `Idempotency-Key` and answer 503 before the function itself times out.
 */
export const PUBLISH_MARGIN_MS = 1_000;

/** Longest accepted `Idempotency-Key`; keys are hashed into the idempotency table, never stored raw. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/** Body of `POST /orders`; unknown properties are dropped, not rejected, so older clients keep working. */
export const placeOrderRequest = z.object({
  customerId: z.string().trim().min(1).max(128),
  email: z.email().max(254),
  currency: z.enum(CURRENCIES),
  items: z
    .array(
      z.object({
        sku: z.string().trim().min(1).max(64),
        quantity: z.number().int().min(1).max(100),
      }),
    )
    .min(1)
    .max(50),
  paymentToken: z.string().min(1).max(512).optional(),
});

/** A validated `POST /orders` body. */
export type PlaceOrderRequest = z.infer<typeof placeOrderRequest>;

/** Answer to `POST /orders`: the order exists on `orders.raw`; its status moves on asynchronously. */
export interface PlacedOrder {
  readonly orderId: string;
  readonly status: 'PLACED';
}

/** One problem with a request, named by its path in the body (`items.0.quantity`) or by header. */
export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

/** Epoch-milliseconds time source. */
export interface Clock {
  now(): number;
}

/** Source of fresh ids (orders without an `Idempotency-Key`, correlation ids). */
export interface IdSource {
  newId(): string;
}

/** Reads a row of the order-status table; `undefined` when there is none. */
export interface OrderReader {
  get(orderId: string): Promise<Record<string, unknown> | undefined>;
}

/** Identity of a keyed request: the same customer retrying with the same `Idempotency-Key`. */
export interface IdempotentRequest {
  readonly customerId: string;
  readonly idempotencyKey: string;
  /** The validated body; a retry must carry the same one. */
  readonly order: PlaceOrderRequest;
}

/**
 * Runs `place` at most once per (customerId, idempotencyKey) and returns its first result to every retry. Throws
 * `IdempotencyConflictError` for a reused key with another body, `RequestInProgressError` while the first attempt
 * still runs, and `TransientError` when the idempotency store fails.
 */
export interface IdempotencyGuard {
  once(request: IdempotentRequest, place: () => Promise<PlacedOrder>): Promise<PlacedOrder>;
}

/** An `Idempotency-Key` was reused with a different request body. */
export class IdempotencyConflictError extends OrderflowError {}

/** A request with the same `Idempotency-Key` is still being processed. */
export class RequestInProgressError extends OrderflowError {}

/** What placing an order needs. */
export interface PlaceOrderPorts {
  /** Resolves only once the broker acknowledged the record (acks from all in-sync replicas). */
  readonly publisher: EventPublisher;
  readonly clock: Clock;
  readonly ids: IdSource;
}

/** Everything the order API needs. */
export interface OrderApiPorts extends PlaceOrderPorts {
  readonly orders: OrderReader;
  readonly idempotency: IdempotencyGuard;
}

/** A new order, with the request context it came with. */
export interface PlaceOrderCommand {
  readonly order: PlaceOrderRequest;
  readonly correlationId: string;
  /** `Idempotency-Key` header, when the client sent one. */
  readonly idempotencyKey?: string;
  /** W3C traceparent of the request, propagated onto the Kafka record. */
  readonly traceparent?: string;
  /**
   * Milliseconds left before the invocation times out; publishing is given up once `publishBudgetMs` of them passed.
   *
   * @default - no deadline: publishing waits for the publisher
   */
  readonly remainingTimeMs?: () => number;
}

/** Per-request options of `handleRequest`. */
export interface RequestOptions {
  /**
   * Milliseconds left before the invocation times out (Lambda's `context.getRemainingTimeInMillis`).
   *
   * @default - no deadline: publishing waits for the publisher
   */
  readonly remainingTimeMs?: () => number;
}

/** `GET /orders/{orderId}` body: the order-status row without its bookkeeping (nor the customer's PII). */
export interface OrderView {
  readonly orderId: string;
  readonly status: string;
  /** Absent only if order-status has not seen OrderPlaced yet (events of one order can be read out of order). */
  readonly currency?: string;
  readonly items?: readonly { sku: string; quantity: number }[];
  /** Absent until validate-order priced the order. */
  readonly totalCents?: number;
  /** Why the order was rejected or cancelled. */
  readonly reason?: string;
  readonly history: readonly { status: string; at: string }[];
}

/** Producer name mixed into derived ids, so another producer deriving from the same parts gets other ids. */
const PRODUCER = 'order-api';

/**
 * The id of an order: derived from (customerId, Idempotency-Key) when the client sent a key, so a retry whose
 * idempotency record was lost still names the same order; fresh otherwise.
 */
export function orderIdFor(customerId: string, idempotencyKey: string | undefined, ids: IdSource): string {
  return idempotencyKey === undefined ? ids.newId() : derivedId(PRODUCER, customerId, idempotencyKey);
}

/** The OrderPlaced event of a command; its eventId follows from the orderId, so a re-publish is deduplicated. */
export function orderPlacedEvent(command: PlaceOrderCommand, orderId: string, now: number): EventOf<'OrderPlaced'> {
  const { order } = command;
  return {
    type: 'OrderPlaced',
    eventId: derivedId(PRODUCER, orderId, 'OrderPlaced'),
    orderId,
    occurredAt: now,
    correlationId: command.correlationId,
    customerId: order.customerId,
    email: order.email,
    currency: order.currency,
    items: order.items.map(({ sku, quantity }) => ({ sku, quantity })),
    paymentToken: order.paymentToken ?? null,
  };
}

/** How long publishing may take when `remainingMs` are left in the invocation: all but `PUBLISH_MARGIN_MS`. */
export function publishBudgetMs(remainingMs: number): number {
  return Math.max(0, Math.floor(remainingMs - Math.min(PUBLISH_MARGIN_MS, remainingMs / 5)));
}

/**
 * Publishes OrderPlaced and resolves once the broker acknowledged it. Throws `TransientError` when it could not
 * be published, or not within `publishBudgetMs` of the remaining time: then the client may retry. A publish given
 * up on may still complete a moment later; with an `Idempotency-Key` the retry names the same order and event, so
 * consumers deduplicate it, without one the retry is a new order.
 */
export async function placeOrder(command: PlaceOrderCommand, ports: PlaceOrderPorts): Promise<PlacedOrder> {
  const orderId = orderIdFor(command.order.customerId, command.idempotencyKey, ports.ids);
  const event = orderPlacedEvent(command, orderId, ports.clock.now());
  const budgetMs = command.remainingTimeMs ? publishBudgetMs(command.remainingTimeMs()) : undefined;
  if (budgetMs === 0) throw new TransientError(`no time left to publish OrderPlaced for order ${orderId}`);
  const signal = budgetMs === undefined ? undefined : AbortSignal.timeout(budgetMs);
  try {
    const trace = command.traceparent ? { traceparent: command.traceparent } : {};
    // The publisher is told to give up too, but the answer must not depend on it honouring the signal.
    await abandonedOnAbort(ports.publisher.publish([event], trace, signal ? { signal } : {}), signal);
  } catch (error) {
    const what = signal?.aborted ? `took longer than ${budgetMs} ms` : 'failed';
    throw new TransientError(`publishing OrderPlaced for order ${orderId} ${what}`, { cause: error });
  }
  logger.info('order placed', {
    orderId,
    correlationId: command.correlationId,
    customerId: command.order.customerId,
    items: command.order.items.length,
  });
  return { orderId, status: 'PLACED' };
}

/** Row attributes `GET` returns; everything else in the row is order-status bookkeeping. */
const orderRow = z.object({
  orderId: z.string(),
  status: z.string(),
  currency: z.string().optional(),
  items: z.array(z.object({ sku: z.string(), quantity: z.number() })).optional(),
  totalCents: z.number().optional(),
  reason: z.string().optional(),
  history: z.array(z.object({ status: z.string(), at: z.string() })).default([]),
});

/** Attributes of the order-status row the API reads (a projection, so bookkeeping never leaves the table). */
export const ORDER_VIEW_ATTRIBUTES = ['orderId', 'status', 'currency', 'items', 'totalCents', 'reason', 'history'];

/** Order ids are UUIDs (random or derived); anything else cannot name an order and is not looked up. */
const ORDER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The order's current status, or `undefined` when there is no such order. order-status writes the row
 * asynchronously from `orders.raw`, so right after a 202 the row may not exist yet and this returns `undefined`
 * (404) for a moment: clients poll.
 */
export async function getOrder(orderId: string, orders: OrderReader): Promise<OrderView | undefined> {
  if (!ORDER_ID.test(orderId)) return undefined;
  const row = await orders.get(orderId);
  if (!row) return undefined;
  const parsed = orderRow.safeParse(row);
  if (!parsed.success) {
    throw new OrderflowError(`order-status row of ${orderId} is malformed: ${z.prettifyError(parsed.error)}`);
  }
  const { history, items, ...rest } = parsed.data;
  return {
    ...rest,
    ...(items ? { items: items.map(({ sku, quantity }) => ({ sku, quantity })) } : {}),
    history: history.map(({ status, at }) => ({ status, at })),
  };
}

/** Outcome of reading a request body: the parsed order, or the response that refuses it. */
export type ParsedBody =
  | { readonly ok: true; readonly order: PlaceOrderRequest }
  | { readonly ok: false; readonly response: APIGatewayProxyStructuredResultV2 };

/** Decodes, size-checks, parses and validates a `POST /orders` body. */
export function parsePlaceOrderBody(event: Pick<APIGatewayProxyEventV2, 'body' | 'isBase64Encoded'>): ParsedBody {
  const bytes =
    event.body === undefined ? undefined : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  if (bytes && bytes.length > MAX_BODY_BYTES) {
    return {
      ok: false,
      response: json(413, { error: `request body is ${bytes.length} bytes; the limit is ${MAX_BODY_BYTES}` }),
    };
  }
  if (!bytes || bytes.length === 0) {
    return { ok: false, response: invalid('request body is required', [{ field: 'body', message: 'missing' }]) };
  }
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    return {
      ok: false,
      response: invalid('request body is not valid JSON', [{ field: 'body', message: (error as Error).message }]),
    };
  }
  const parsed = placeOrderRequest.safeParse(body);
  if (!parsed.success) {
    return { ok: false, response: invalid('invalid order', problemsOf(parsed.error)) };
  }
  return { ok: true, order: parsed.data };
}

/** Zod issues as field problems: `items.0.quantity`, or `body` for the body as a whole. */
export function problemsOf(error: z.ZodError): FieldProblem[] {
  return error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.map(String).join('.') : 'body',
    message: issue.message,
  }));
}

/**
 * Answers one HTTP API request. Routes on `routeKey`, and on method + path when the route key is `$default`
 * (how the local dev server labels a request no route matched): unknown paths get 404, known paths with another
 * method 405.
 */
export async function handleRequest(
  event: APIGatewayProxyEventV2,
  ports: OrderApiPorts,
  options: RequestOptions = {},
): Promise<APIGatewayProxyStructuredResultV2> {
  const response = await respond(event, ports, options);
  // One count per status class (Http2xx, Http4xx, Http5xx): the API's error rate without parsing access logs.
  metrics.addMetric(`Http${Math.floor((response.statusCode ?? 200) / 100)}xx`, MetricUnit.Count, 1);
  return response;
}

async function respond(
  event: APIGatewayProxyEventV2,
  ports: OrderApiPorts,
  options: RequestOptions,
): Promise<APIGatewayProxyStructuredResultV2> {
  try {
    const route = routeOf(event);
    switch (route.kind) {
      case 'place':
        return await handlePlaceOrder(event, ports, options);
      case 'get':
        return await handleGetOrder(route.orderId, ports);
      case 'method-not-allowed':
        return json(405, { error: `method ${route.method} is not allowed on ${route.path}` }, { allow: route.allow });
      case 'not-found':
        return json(404, { error: `no route for ${route.method} ${route.path}` });
    }
  } catch (error) {
    logger.error('request failed', { error: error as Error });
    return json(500, { error: 'internal error' });
  }
}

async function handlePlaceOrder(
  event: APIGatewayProxyEventV2,
  ports: OrderApiPorts,
  options: RequestOptions,
): Promise<APIGatewayProxyStructuredResultV2> {
  const parsed = parsePlaceOrderBody(event);
  if (!parsed.ok) {
    metrics.addMetric('OrderRequestsRefused', MetricUnit.Count, 1);
    return parsed.response;
  }
  const idempotencyKey = headerOf(event, 'idempotency-key');
  if (
    idempotencyKey !== undefined &&
    (idempotencyKey.length === 0 || idempotencyKey.length > MAX_IDEMPOTENCY_KEY_LENGTH)
  ) {
    metrics.addMetric('OrderRequestsRefused', MetricUnit.Count, 1);
    return invalid('invalid Idempotency-Key header', [
      { field: 'Idempotency-Key', message: `must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters` },
    ]);
  }
  const traceparent = headerOf(event, 'traceparent');
  const command: PlaceOrderCommand = {
    order: parsed.order,
    correlationId: correlationIdOf(event) ?? ports.ids.newId(),
    ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
    ...(traceparent && TRACEPARENT.test(traceparent) ? { traceparent } : {}),
    ...(options.remainingTimeMs ? { remainingTimeMs: options.remainingTimeMs } : {}),
  };
  try {
    const placed =
      idempotencyKey === undefined
        ? await placeOrder(command, ports)
        : await ports.idempotency.once(
            { customerId: parsed.order.customerId, idempotencyKey, order: parsed.order },
            () => placeOrder(command, ports),
          );
    metrics.addMetric('OrderRequestsAccepted', MetricUnit.Count, 1);
    return json(202, { orderId: placed.orderId, status: placed.status });
  } catch (error) {
    if (error instanceof IdempotencyConflictError) {
      return json(422, { error: 'Idempotency-Key was already used with a different request body' });
    }
    if (error instanceof RequestInProgressError) {
      return json(
        409,
        { error: 'a request with this Idempotency-Key is still being processed' },
        { 'retry-after': String(RETRY_AFTER_SECONDS) },
      );
    }
    if (error instanceof TransientError) {
      logger.warn('order not placed', { correlationId: command.correlationId, error });
      metrics.addMetric('OrderRequestsUnavailable', MetricUnit.Count, 1);
      return json(
        503,
        { error: 'the order could not be placed now; retry later' },
        { 'retry-after': String(RETRY_AFTER_SECONDS) },
      );
    }
    throw error;
  }
}

async function handleGetOrder(orderId: string, ports: OrderApiPorts): Promise<APIGatewayProxyStructuredResultV2> {
  const view = await getOrder(orderId, ports.orders);
  return view ? json(200, view) : json(404, { error: `order ${orderId} not found` });
}

/** Correlation ids a caller may choose: they travel on every event and log line, so keep them short and plain. */
const CORRELATION_ID = /^[\w.:-]{1,128}$/;

/** The caller's `x-correlation-id` when it is usable; otherwise the request gets a new one. */
function correlationIdOf(event: APIGatewayProxyEventV2): string | undefined {
  const given = headerOf(event, 'x-correlation-id');
  return given && CORRELATION_ID.test(given) ? given : undefined;
}

/** W3C trace context `traceparent` (version-traceid-parentid-flags). */
const TRACEPARENT = /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/;

type Route =
  | { kind: 'place' }
  | { kind: 'get'; orderId: string }
  | { kind: 'method-not-allowed'; method: string; path: string; allow: string }
  | { kind: 'not-found'; method: string; path: string };

const ORDER_PATH = /^\/orders\/([^/]+)$/;

function routeOf(event: APIGatewayProxyEventV2): Route {
  const method = event.requestContext.http.method.toUpperCase();
  const path = event.rawPath.length > 1 ? event.rawPath.replace(/\/+$/, '') : event.rawPath;
  const orderIdInPath = ORDER_PATH.exec(path)?.[1];
  if (event.routeKey === 'POST /orders') return { kind: 'place' };
  if (event.routeKey === 'GET /orders/{orderId}') {
    const orderId = event.pathParameters?.orderId ?? (orderIdInPath && safeDecode(orderIdInPath));
    return orderId ? { kind: 'get', orderId } : { kind: 'not-found', method, path };
  }
  if (path === '/orders') {
    return method === 'POST' ? { kind: 'place' } : { kind: 'method-not-allowed', method, path, allow: 'POST' };
  }
  if (orderIdInPath) {
    return method === 'GET'
      ? { kind: 'get', orderId: safeDecode(orderIdInPath) }
      : { kind: 'method-not-allowed', method, path, allow: 'GET' };
  }
  return { kind: 'not-found', method, path };
}

/** A path segment decoded; a malformed escape stays as sent (and then names no order) rather than failing. */
function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** A header's value; HTTP API lowercases names, the lookup tolerates other spellings from hand-built events. */
function headerOf(event: Pick<APIGatewayProxyEventV2, 'headers'>, name: string): string | undefined {
  const headers = event.headers ?? {};
  const direct = headers[name];
  if (direct !== undefined) return direct.trim();
  const found = Object.entries(headers).find(([key]) => key.toLowerCase() === name);
  return found?.[1]?.trim();
}

function invalid(error: string, details: readonly FieldProblem[]): APIGatewayProxyStructuredResultV2 {
  return json(400, { error, details });
}

/** A JSON response. */
function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}
