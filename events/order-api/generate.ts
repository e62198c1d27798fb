/**
 * Writes the order-api fixtures: API Gateway HTTP API (payload format 2.0) events as API Gateway delivers them
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html).
 * Run with `npx tsx events/order-api/generate.ts`; the output is deterministic.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

const DIR = new URL('./', import.meta.url);
const RECEIVED_AT = new Date('2026-11-21T10:00:00.000Z');

/** A valid request over SKUs of the local catalog seed (`local/seed.json`). */
const VALID_ORDER = {
  customerId: 'cust-1001',
  email: 'ada.lovelace@example.com',
  currency: 'EUR',
  items: [
    { sku: 'SKU-KEYBOARD', quantity: 1 },
    { sku: 'SKU-MUG', quantity: 2 },
  ],
  paymentToken: 'tok_visa_4242',
};

/** The order id the GET fixtures ask for (a derived v8 UUID, like the ones order-api hands out). */
const KNOWN_ORDER_ID = '6f1c2a8e-3b4d-8e5f-9a6b-7c8d9e0f1a2b';
const UNKNOWN_ORDER_ID = '00000000-0000-8000-8000-000000000000';

function httpApiEvent(options: {
  method: string;
  path: string;
  routeKey: string;
  requestId: string;
  headers?: Record<string, string>;
  body?: string;
  pathParameters?: Record<string, string>;
}): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {
    accept: 'application/json',
    host: 'abc123def4.execute-api.us-east-1.amazonaws.com',
    'user-agent': 'curl/8.5.0',
    'x-amzn-trace-id': `Root=1-691f3820-${createHash('sha256').update(options.requestId).digest('hex').slice(0, 24)}`,
    'x-forwarded-for': '203.0.113.10',
    'x-forwarded-port': '443',
    'x-forwarded-proto': 'https',
    ...(options.body !== undefined
      ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(options.body)) }
      : {}),
    ...options.headers,
  };
  return {
    version: '2.0',
    routeKey: options.routeKey,
    rawPath: options.path,
    rawQueryString: '',
    headers,
    ...(options.pathParameters ? { pathParameters: options.pathParameters } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123def4',
      domainName: 'abc123def4.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123def4',
      http: {
        method: options.method,
        path: options.path,
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.10',
        userAgent: 'curl/8.5.0',
      },
      requestId: options.requestId,
      routeKey: options.routeKey,
      stage: '$default',
      time: '21/Nov/2026:10:00:00 +0000',
      timeEpoch: RECEIVED_AT.getTime(),
    },
    ...(options.body !== undefined ? { body: options.body } : {}),
    isBase64Encoded: false,
  };
}

const postOrder = (requestId: string, body: unknown, headers: Record<string, string> = {}) =>
  httpApiEvent({
    method: 'POST',
    path: '/orders',
    routeKey: 'POST /orders',
    requestId,
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

const fixtures: Record<string, APIGatewayProxyEventV2> = {
  'post-order.json': postOrder('V1Abc1a2b3cEJQ=', VALID_ORDER, { 'x-correlation-id': 'corr-post-order-1' }),
  'post-order-invalid.json': postOrder('V1Abc2a2b3cEJQ=', {
    email: 'not-an-email',
    currency: 'JPY',
    items: [
      { sku: '', quantity: 0 },
      { sku: 'SKU-MUG', quantity: 2.5 },
      { sku: 'SKU-BOOK', quantity: 101 },
    ],
  }),
  'post-order-oversized.json': postOrder('V1Abc3a2b3cEJQ=', {
    ...VALID_ORDER,
    // 1,200 lines of ~60 bytes each: well over the 64 KiB limit, yet each line is individually valid.
    items: Array.from({ length: 1200 }, (_, i) => ({ sku: `SKU-PADDING-${String(i).padStart(30, '0')}`, quantity: 1 })),
  }),
  'post-order-idempotent.json': postOrder('V1Abc4a2b3cEJQ=', VALID_ORDER, {
    'idempotency-key': '5d9c1e1e-checkout-attempt-1',
    'x-correlation-id': 'corr-post-order-idempotent',
  }),
  'get-order.json': httpApiEvent({
    method: 'GET',
    path: `/orders/${KNOWN_ORDER_ID}`,
    routeKey: 'GET /orders/{orderId}',
    requestId: 'V1Abc5a2b3cEJQ=',
    pathParameters: { orderId: KNOWN_ORDER_ID },
  }),
  'get-order-unknown.json': httpApiEvent({
    method: 'GET',
    path: `/orders/${UNKNOWN_ORDER_ID}`,
    routeKey: 'GET /orders/{orderId}',
    requestId: 'V1Abc6a2b3cEJQ=',
    pathParameters: { orderId: UNKNOWN_ORDER_ID },
  }),
};

for (const [name, event] of Object.entries(fixtures)) {
  writeFileSync(new URL(name, DIR), `${JSON.stringify(event, null, 2)}\n`);
  console.log(`events/order-api/${name}: ${event.body ? Buffer.byteLength(event.body) : 0} body bytes`);
}
