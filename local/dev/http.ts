/**
 * The order API on http://127.0.0.1:3000, served through the same `order-api` handler Lambda runs: each request
 * becomes an API Gateway HTTP API (payload 2.0) event, and the handler's result becomes the response.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { lambdaContext } from '../esm/event-source.js';

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

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_READ_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Serves the order API; `GET /healthz` answers without calling the handler.
 *
 * @example
 * const server = await serveOrderApi(handler, { port: 3000 });
 */
export async function serveOrderApi(
  handler: HttpApiHandler,
  options: { port: number; host?: string; healthy?: () => Record<string, unknown> },
): Promise<Server> {
  const server = createServer(async (req, res) => {
    try {
      if (req.method === 'GET' && req.url === '/healthz') {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: 'ok', ...options.healthy?.() }));
        return;
      }
      const body = await readBody(req);
      if (!body) {
        res
          .writeHead(413, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: 'request body too large' }));
        return;
      }
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(',') : (v ?? '')]),
      );
      const result = await handler(
        toHttpApiEvent(req.method ?? 'GET', req.url ?? '/', headers, body),
        lambdaContext('order-api', 30_000),
      );
      const responseHeaders: Record<string, string> = {};
      for (const [k, v] of Object.entries(result.headers ?? {})) responseHeaders[k] = String(v);
      res.writeHead(result.statusCode ?? 200, responseHeaders).end(result.body ?? '');
    } catch (error) {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'internal error' }));
      console.error('order-api failed', error);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', resolve);
  });
  return server;
}
