/**
 * The order API over HTTP: Powertools event-handler's `Router` routes an HTTP API (payload 2.0) request to the
 * logic (`order-api.ts`) and turns what it answers or throws into the responses of README's "HTTP contract".
 * https://docs.aws.amazon.com/powertools/typescript/latest/features/event-handler/http/
 */
import { HttpVerbs, ParameterValidationError, Router } from '@aws-lambda-powertools/event-handler/http';
import type { HttpMethod, RequestContext } from '@aws-lambda-powertools/event-handler/types';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { TransientError } from '../../shared/errors.js';
import type * as z from '../../shared/zod.js';
import {
  getOrder,
  IdempotencyConflictError,
  type OrderApiPorts,
  type PlaceOrderCommand,
  type PlaceOrderRequest,
  placeOrder,
  placeOrderRequest,
  RequestInProgressError,
} from './order-api.js';

/** Largest accepted request body, counted in decoded bytes (API Gateway itself accepts up to 10 MB). */
export const MAX_BODY_BYTES = 64 * 1024;

/** Seconds a client is told to wait before retrying a 409 or 503. */
export const RETRY_AFTER_SECONDS = 2;

/** Longest accepted `Idempotency-Key`; keys are hashed into the idempotency table, never stored raw. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/** One problem with a request, named by its path in the body (`items.0.quantity`) or by header. */
export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

/** What the HTTP layer logs with; the router gets it too, for its own warnings. */
export type HttpLog = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/** What the HTTP layer counts with (answers per status class, order requests per outcome); `Metrics` is one. */
export interface HttpMetrics {
  addMetric(name: string, unit: typeof MetricUnit.Count, value: number): void;
}

/** What the HTTP layer needs: the logic's ports, plus logs and metrics of its own. */
export interface OrderApiHttpPorts extends OrderApiPorts {
  readonly log: HttpLog;
  readonly metrics: HttpMetrics;
}

/** Answers one HTTP API request; the deadline of publishing comes from the invocation's `context`. */
export type OrderApi = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * The order API over `ports`: `POST /orders` and `GET /orders/{orderId}`, 405 with `Allow` for another method on
 * those paths, 404 for any other path, a JSON 500 for anything unexpected. Build it once per cold start.
 */
export function orderApi(ports: OrderApiHttpPorts): OrderApi {
  // Each routing view maps to the event it was made of: routes read headers and body from what API Gateway sent.
  const sent = new WeakMap<object, APIGatewayProxyEventV2>();
  const sentEvent = (reqCtx: RequestContext): APIGatewayProxyEventV2 => {
    const event = sent.get(reqCtx.event);
    if (!event) throw new Error('the request was not resolved through orderApi');
    return event;
  };
  const notAllowed = (allow: HttpMethod) => async (reqCtx: RequestContext) => {
    const { method, path } = requestLine(sentEvent(reqCtx));
    return json(405, { error: `method ${method} is not allowed on ${path}` }, { allow });
  };

  const router = new Router({ logger: ports.log });
  router.post('/orders', (reqCtx) => answerPlaceOrder(sentEvent(reqCtx), reqCtx.context, ports));
  router.get('/orders/:orderId', ({ params }) => answerGetOrder(params.orderId ?? '', ports));
  // The router answers a known path with another method 404, like an unknown path: these routes answer 405.
  router.route(notAllowed('POST'), { method: otherMethodsThan('POST'), path: '/orders' });
  router.route(notAllowed('GET'), { method: otherMethodsThan('GET'), path: '/orders/:orderId' });
  router.notFound(async (_error, reqCtx) => {
    const { method, path } = requestLine(sentEvent(reqCtx));
    return json(404, { error: `no route for ${method} ${path}` });
  });
  // The router decodes path parameters and refuses blank ones before any route runs; such an id names no order.
  router.errorHandler([URIError, ParameterValidationError], async (_error, reqCtx) => {
    const { path } = requestLine(sentEvent(reqCtx));
    return json(404, { error: `order ${path.slice(path.lastIndexOf('/') + 1)} not found` });
  });
  router.errorHandler(Error, async (error) => {
    ports.log.error('request failed', { error });
    return json(500, { error: 'internal error' });
  });

  return async (event, context) => {
    const view = routingView(event);
    sent.set(view, event);
    const response = await router.resolve(view, context);
    // One count per status class (Http2xx, Http4xx, Http5xx): the API's error rate without parsing access logs.
    ports.metrics.addMetric(`Http${Math.floor((response.statusCode ?? 200) / 100)}xx`, MetricUnit.Count, 1);
    return response;
  };
}

/**
 * What the router is given of a request: its method and path, nothing a client chose otherwise. event-handler
 * 2.35 builds a Fetch `Request` from the event before routing, and that throws, failing the invocation instead of
 * answering, on what a client can send: a body on GET or HEAD
 * (https://github.com/aws-powertools/powertools-lambda-typescript/issues/5673), a header value with a control
 * character or beyond Latin-1, a Host or X-Forwarded-Proto that makes no URL.
 */
function routingView(event: APIGatewayProxyEventV2): APIGatewayProxyEventV2 {
  const { http } = event.requestContext;
  return {
    version: event.version,
    routeKey: event.routeKey,
    rawPath: event.rawPath,
    rawQueryString: '',
    headers: {},
    requestContext: { ...event.requestContext, http: { ...http, method: http.method.toUpperCase() } },
    isBase64Encoded: false,
  };
}

/** Every method the router knows but `method`. */
function otherMethodsThan(method: HttpMethod): HttpMethod[] {
  return Object.values(HttpVerbs).filter((other) => other !== method);
}

async function answerPlaceOrder(
  event: APIGatewayProxyEventV2,
  context: Context,
  ports: OrderApiHttpPorts,
): Promise<Response> {
  const parsed = parsePlaceOrderBody(event);
  if (!parsed.ok) {
    ports.metrics.addMetric('OrderRequestsRefused', MetricUnit.Count, 1);
    return parsed.response;
  }
  const idempotencyKey = headerOf(event, 'idempotency-key');
  if (
    idempotencyKey !== undefined &&
    (idempotencyKey.length === 0 || idempotencyKey.length > MAX_IDEMPOTENCY_KEY_LENGTH)
  ) {
    ports.metrics.addMetric('OrderRequestsRefused', MetricUnit.Count, 1);
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
    remainingTimeMs: () => context.getRemainingTimeInMillis(),
  };
  try {
    const placed =
      idempotencyKey === undefined
        ? await placeOrder(command, ports)
        : await ports.idempotency.once(
            { customerId: parsed.order.customerId, idempotencyKey, order: parsed.order },
            () => placeOrder(command, ports),
          );
    ports.metrics.addMetric('OrderRequestsAccepted', MetricUnit.Count, 1);
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
      ports.log.warn('order not placed', { correlationId: command.correlationId, error });
      ports.metrics.addMetric('OrderRequestsUnavailable', MetricUnit.Count, 1);
      return json(
        503,
        { error: 'the order could not be placed now; retry later' },
        { 'retry-after': String(RETRY_AFTER_SECONDS) },
      );
    }
    throw error;
  }
}

async function answerGetOrder(orderId: string, ports: OrderApiHttpPorts): Promise<Response> {
  const view = await getOrder(orderId, ports.orders);
  return view ? json(200, view) : json(404, { error: `order ${orderId} not found` });
}

/** Outcome of reading a request body: the parsed order, or the response that refuses it. */
export type ParsedBody =
  | { readonly ok: true; readonly order: PlaceOrderRequest }
  | { readonly ok: false; readonly response: Response };

/**
 * Decodes, size-checks, parses and validates a `POST /orders` body. It reads the event rather than the router's
 * `Request`, which holds the body re-encoded as UTF-8: the limit counts the bytes that were sent.
 */
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
export function problemsOf(error: z.core.$ZodError): FieldProblem[] {
  return error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.map(String).join('.') : 'body',
    message: issue.message,
  }));
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

/** Method and path as answers name them: the method upper-case, the path without trailing slashes. */
function requestLine(event: APIGatewayProxyEventV2): { method: string; path: string } {
  const method = event.requestContext.http.method.toUpperCase();
  const path = event.rawPath.length > 1 ? event.rawPath.replace(/\/+$/, '') : event.rawPath;
  return { method, path };
}

/** A header's value; HTTP API lowercases names, the lookup tolerates other spellings from hand-built events. */
function headerOf(event: Pick<APIGatewayProxyEventV2, 'headers'>, name: string): string | undefined {
  const headers = event.headers ?? {};
  const direct = headers[name];
  if (direct !== undefined) return direct.trim();
  const found = Object.entries(headers).find(([key]) => key.toLowerCase() === name);
  return found?.[1]?.trim();
}

function invalid(error: string, details: readonly FieldProblem[]): Response {
  return json(400, { error, details });
}

/** A JSON answer. */
function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers });
}
