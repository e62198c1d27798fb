/**
 * The order API on http://127.0.0.1:3000, served through the same `order-api` handler Lambda runs: each request
 * becomes an API Gateway HTTP API (payload 2.0) event, the handler runs within the function's timeout, and its
 * result becomes the response.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { HTTP_API_INTEGRATION_TIMEOUT_SECONDS, ORDER_API_TIMEOUT_SECONDS } from '../../shared/timeouts.js';
import { lambdaContext } from '../esm/context.js';

/** The order-api handler's signature. */
export type HttpApiHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/** Routes of the HTTP API, as the CDK stack declares them. */
const ROUTES: readonly { method: string; pattern: RegExp; routeKey: string; param?: string }[] = [
  { method: 'POST', pattern: /^\/orders$/, routeKey: 'POST /orders' },
  { method: 'GET', pattern: /^\/orders\/([^/]+)$/, routeKey: 'GET /orders/{orderId}', param: 'orderId' },
];

/** Hard cap on bodies read from the socket; API Gateway's own limit is 10 MB, the handler answers 413 above 64 KiB. */
const MAX_READ_BYTES = 1024 * 1024;

/**
 * A route served next to the order API (the dashboard, the live Management API): answers the request and resolves
 * `true`, or resolves `false` to leave it to the next route and finally to order-api.
 */
export type ExtraRoute = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

/** Routes mounted on each server `serveOrderApi` created, in mounting order. */
const EXTRA_ROUTES = new WeakMap<Server, ExtraRoute[]>();

/**
 * Serves `route` on a server `serveOrderApi` created, in front of order-api (which would answer 404 for paths it
 * does not know). It lets `npm run dev` add routes to the server `startPipeline` starts.
 *
 * @example
 * mountRoute(pipeline.server, (req, res) => req.url === '/ping' && (res.end('pong'), true));
 */
export function mountRoute(server: Server, route: ExtraRoute): void {
  const routes = EXTRA_ROUTES.get(server);
  if (!routes) throw new Error('mountRoute: the server was not created by serveOrderApi');
  routes.push(route);
}

/** Options of `serveOrderApi`. */
export interface ServeOrderApiOptions {
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Extra fields of the `GET /healthz` answer. */
  readonly healthy?: () => Record<string, unknown>;
  /**
   * The function's timeout in milliseconds: the handler's context counts down from it, and a handler still running
   * then is given up on with the answer API Gateway gives for it (`GATEWAY_ANSWERS`).
   *
   * @default - order-api's deployed timeout, `ORDER_API_TIMEOUT_SECONDS`
   */
  readonly timeoutMs?: number;
}

/**
 * What an HTTP API answers when its Lambda integration does not: a function that times out is a function error
 * (Lambda reports `Task timed out`), answered `500 {"message":"Internal Server Error"}`
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html); a function
 * that outlives the 30 s integration timeout (a quota,
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html) is answered
 * `503 {"message":"Service Unavailable"}` by the gateway, which stops waiting for it.
 */
export const GATEWAY_ANSWERS = {
  FUNCTION_ERROR: { statusCode: 500, body: { message: 'Internal Server Error' } },
  INTEGRATION_TIMEOUT: { statusCode: 503, body: { message: 'Service Unavailable' } },
} as const;

/** Builds the HTTP API v2 event for a request. */
export function toHttpApiEvent(
  method: string,
  url: string,
  headers: Record<string, string>,
  body: Buffer,
): APIGatewayProxyEventV2 {
  const parsed = new URL(url, 'http://127.0.0.1');
  const route = ROUTES.find((r) => r.method === method && r.pattern.test(parsed.pathname));
  const match = route ? route.pattern.exec(parsed.pathname) : null;
  const now = new Date();
  return {
    version: '2.0',
    routeKey: route?.routeKey ?? '$default',
    rawPath: parsed.pathname,
    rawQueryString: parsed.search.slice(1),
    headers,
    ...(route?.param && match?.[1] ? { pathParameters: { [route.param]: decodeURIComponent(match[1]) } } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: '127.0.0.1',
      domainPrefix: '127',
      http: {
        method,
        path: parsed.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: route?.routeKey ?? '$default',
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0 ? { body: body.toString('utf8') } : {}),
    isBase64Encoded: false,
  };
}

/**
 * The body of `req`, or `undefined` when it is over `limit` bytes (then read no further): by its
 * `content-length` when it declares one, else as it arrives.
 */
export async function readAtMost(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  if (Number(req.headers['content-length'] ?? 0) > limit) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Serves the order API; `GET /healthz` answers without calling the handler, routes added with `mountRoute` come
 * next. Each request invokes `handler` with a
 * fresh Lambda context of `timeoutMs`; when it has not answered by then (or by the gateway's 30 s, if that comes
 * first) the client gets API Gateway's answer for it and the handler's late result is dropped.
 *
 * @example
 * const server = await serveOrderApi(handler, { port: 3000 });
 */
export async function serveOrderApi(handler: HttpApiHandler, options: ServeOrderApiOptions): Promise<Server> {
  const timeoutMs = options.timeoutMs ?? ORDER_API_TIMEOUT_SECONDS * 1000;
  if (!(Number.isInteger(timeoutMs) && timeoutMs > 0)) {
    throw new RangeError(`timeoutMs must be a positive integer, got ${timeoutMs}`);
  }
  const gatewayTimeoutMs = HTTP_API_INTEGRATION_TIMEOUT_SECONDS * 1000;
  const extraRoutes: ExtraRoute[] = [];
  const server = createServer(async (req, res) => {
    try {
      if (req.method === 'GET' && req.url === '/healthz') {
        answerJson(res, 200, { status: 'ok', ...options.healthy?.() });
        return;
      }
      for (const route of extraRoutes) if (await route(req, res)) return;
      const body = await readAtMost(req, MAX_READ_BYTES);
      if (!body) {
        answerJson(res, 413, { error: 'request body too large' });
        return;
      }
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(',') : (v ?? '')]),
      );
      const event = toHttpApiEvent(req.method ?? 'GET', req.url ?? '/', headers, body);
      const outcome = await invokeWithin(
        handler,
        event,
        lambdaContext('order-api', timeoutMs),
        Math.min(timeoutMs, gatewayTimeoutMs),
      );
      if (outcome.kind === 'timed-out') {
        const gateway = timeoutAnswer(timeoutMs);
        console.error(`order-api gave no answer to ${event.routeKey} within ${outcome.afterMs} ms`);
        answerJson(res, gateway.statusCode, gateway.body);
        return;
      }
      if (outcome.kind === 'failed') throw outcome.error;
      const { result } = outcome;
      const responseHeaders: Record<string, string> = {};
      for (const [k, v] of Object.entries(result.headers ?? {})) responseHeaders[k] = String(v);
      answer(res, result.statusCode ?? 200, responseHeaders, result.body ?? '');
    } catch (error) {
      console.error('order-api failed', error);
      // A route that failed after it started answering cannot be answered again (writeHead would throw, and the
      // rejection of this request listener would end the process): its connection is cut instead.
      if (res.headersSent) res.destroy();
      else answerJson(res, GATEWAY_ANSWERS.FUNCTION_ERROR.statusCode, GATEWAY_ANSWERS.FUNCTION_ERROR.body);
    }
  });
  EXTRA_ROUTES.set(server, extraRoutes);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', resolve);
  });
  return server;
}

/**
 * API Gateway's answer to a request whose function has not answered after `timeoutMs`, its timeout: the shorter
 * limit wins, the function's own (a function error) or the gateway's integration timeout.
 */
export function timeoutAnswer(timeoutMs: number): (typeof GATEWAY_ANSWERS)[keyof typeof GATEWAY_ANSWERS] {
  return timeoutMs < HTTP_API_INTEGRATION_TIMEOUT_SECONDS * 1000
    ? GATEWAY_ANSWERS.FUNCTION_ERROR
    : GATEWAY_ANSWERS.INTEGRATION_TIMEOUT;
}

/** How an invocation ended, from the caller's side. */
type Outcome =
  | { readonly kind: 'answered'; readonly result: APIGatewayProxyStructuredResultV2 }
  | { readonly kind: 'failed'; readonly error: unknown }
  | { readonly kind: 'timed-out'; readonly afterMs: number };

/**
 * Runs the handler and waits at most `limitMs` for it. A handler that answers later is not stopped (Node cannot),
 * but what it answers or throws then is only logged.
 */
async function invokeWithin(
  handler: HttpApiHandler,
  event: APIGatewayProxyEventV2,
  context: Context,
  limitMs: number,
): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const invocation: Promise<Outcome> = Promise.resolve()
    .then(() => handler(event, context))
    .then(
      (result): Outcome => ({ kind: 'answered', result }),
      (error: unknown): Outcome => ({ kind: 'failed', error }),
    )
    .then((outcome) => {
      if (timedOut) {
        const late = outcome.kind === 'answered' ? `answered ${outcome.result.statusCode ?? 200}` : 'failed';
        console.error(`order-api ${late} for ${event.routeKey} after its timeout; the answer was dropped`);
      }
      return outcome;
    });
  const deadline = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => {
      timedOut = true;
      resolve({ kind: 'timed-out', afterMs: limitMs });
    }, limitMs);
  });
  try {
    return await Promise.race([invocation, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Writes one response, unless one was already written or the client has gone. */
function answer(res: ServerResponse, statusCode: number, headers: Record<string, string>, body: string): void {
  if (res.headersSent || res.writableEnded || res.destroyed) return;
  res.writeHead(statusCode, headers).end(body);
}

function answerJson(res: ServerResponse, statusCode: number, body: unknown): void {
  answer(res, statusCode, { 'content-type': 'application/json' }, JSON.stringify(body));
}
