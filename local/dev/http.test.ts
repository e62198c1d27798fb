import { describe, expect, it } from '@jest/globals';
import { retryDelaySeconds } from './eventbridge.js';
import { toHttpApiEvent } from './http.js';

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

describe('local EventBridge delivery', () => {
  it('backs off exponentially up to a minute', () => {
    expect([1, 2, 3, 7, 20].map(retryDelaySeconds)).toEqual([1, 2, 4, 60, 60]);
  });
});
