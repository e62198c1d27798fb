import { describe, expect, it } from '@jest/globals';
import type { APIGatewayProxyEventV2, Context, EventBridgeEvent } from 'aws-lambda';
import {
  admitted,
  DEFAULT_MAX_BACKLOG,
  finalOrderIdOf,
  maxBacklogFromEnv,
  SHED_ANSWER,
  startAdmission,
} from './admission.js';
import type { HttpApiHandler } from './http.js';

function clock(start = 1_000_000) {
  let at = start;
  return { now: () => at, advance: (ms: number) => (at += ms) };
}

const post = { routeKey: 'POST /orders' } as APIGatewayProxyEventV2;
const get = { routeKey: 'GET /orders/{orderId}' } as APIGatewayProxyEventV2;
const context = {} as Context;

describe('startAdmission', () => {
  it('admits until the bound of orders not final, then sheds and counts each refusal', () => {
    // Prepare
    const admission = startAdmission({ maxBacklog: 2 });

    // Act
    admission.accepted('a');
    const second = admission.admit();
    admission.accepted('b');
    const third = admission.admit();
    const fourth = admission.admit();

    // Assess
    expect([second, third, fourth]).toEqual([true, false, false]);
    expect(admission.stats()).toMatchObject({ backlog: 2, maxBacklog: 2, accepted: 2, shed: 2, finished: 0 });
  });

  it('admits again once an order in flight is final, and counts a repeated id once', () => {
    // Prepare
    const admission = startAdmission({ maxBacklog: 2 });
    admission.accepted('a');
    admission.accepted('a');
    admission.accepted('b');

    // Act
    admission.finished('a');
    admission.finished('a');
    admission.finished('never-accepted');

    // Assess
    expect(admission.admit()).toBe(true);
    expect(admission.stats()).toMatchObject({ backlog: 1, accepted: 2, finished: 1, shed: 0 });
  });

  it('forgets an order never seen final after forgetAfterMs', () => {
    // Prepare
    const time = clock();
    const admission = startAdmission({ maxBacklog: 1, forgetAfterMs: 60_000, now: time.now });
    admission.accepted('lost');

    // Act
    const before = admission.admit();
    time.advance(60_000);
    const after = admission.admit();

    // Assess
    expect([before, after]).toEqual([false, true]);
    expect(admission.stats().backlog).toBe(0);
  });

  it('sheds nothing with a bound of 0', () => {
    // Prepare
    const admission = startAdmission({ maxBacklog: 0 });
    for (let i = 0; i < 1_000; i += 1) admission.accepted(`o-${i}`);

    // Act + Assess
    expect(admission.admit()).toBe(true);
    expect(admission.stats().shed).toBe(0);
  });

  it('asks to retry after the time the excess takes at the rate of the last 10 s, from 1 to 30 s', () => {
    // Prepare
    const time = clock();
    const admission = startAdmission({ maxBacklog: 10, now: time.now });
    for (let i = 0; i < 40; i += 1) admission.accepted(`o-${i}`);
    const idle = admission.retryAfterSeconds();
    for (let i = 0; i < 20; i += 1) admission.finished(`o-${i}`);

    // Act: 20 orders finished in the last 10 s (2/s), 20 in flight against a bound of 10 (11 to finish).
    const busy = admission.retryAfterSeconds();
    time.advance(10_001);
    const stalled = admission.retryAfterSeconds();

    // Assess
    expect(idle).toBe(5);
    expect(busy).toBe(6);
    expect(stalled).toBe(5);
    expect(admission.stats().finishedPerSecond).toBe(0);
  });

  it('fails on a bound that is not a non-negative integer', () => {
    // Act + Assess
    expect(() => startAdmission({ maxBacklog: -1 })).toThrow('maxBacklog must be a non-negative integer, got -1');
  });
});

describe('maxBacklogFromEnv', () => {
  it('reads ORDERFLOW_MAX_BACKLOG, defaulting when unset or empty', () => {
    // Act + Assess
    expect(maxBacklogFromEnv({})).toBe(DEFAULT_MAX_BACKLOG);
    expect(maxBacklogFromEnv({ ORDERFLOW_MAX_BACKLOG: '' })).toBe(DEFAULT_MAX_BACKLOG);
    expect(maxBacklogFromEnv({ ORDERFLOW_MAX_BACKLOG: '0' })).toBe(0);
    expect(maxBacklogFromEnv({ ORDERFLOW_MAX_BACKLOG: '400' })).toBe(400);
  });

  it('fails naming the variable and the value on anything else', () => {
    // Act + Assess
    expect(() => maxBacklogFromEnv({ ORDERFLOW_MAX_BACKLOG: 'lots' })).toThrow(
      "ORDERFLOW_MAX_BACKLOG must be an integer from 0 (no shedding) to 1000000, got 'lots'",
    );
    expect(() => maxBacklogFromEnv({ ORDERFLOW_MAX_BACKLOG: '1.5' })).toThrow('ORDERFLOW_MAX_BACKLOG');
  });
});

describe('admitted', () => {
  it('answers 503 with Retry-After without running the function while the backlog is at its bound', async () => {
    // Prepare
    const admission = startAdmission({ maxBacklog: 1 });
    admission.accepted('in-flight');
    let invoked = 0;
    const handler: HttpApiHandler = async () => {
      invoked += 1;
      return { statusCode: 202, body: JSON.stringify({ orderId: 'new' }) };
    };

    // Act
    const result = await admitted(handler, admission)(post, context);

    // Assess
    expect(invoked).toBe(0);
    expect(result.statusCode).toBe(503);
    expect(result.headers?.['retry-after']).toBe('5');
    expect(JSON.parse(result.body as string)).toEqual(SHED_ANSWER.body);
  });

  it('adds each accepted order to the backlog, and never sheds a read', async () => {
    // Prepare
    const admission = startAdmission({ maxBacklog: 1 });
    const handler: HttpApiHandler = async (event) =>
      event.routeKey === 'POST /orders'
        ? { statusCode: 202, body: JSON.stringify({ orderId: 'o-1', status: 'PLACED' }) }
        : { statusCode: 200, body: '{}' };
    const api = admitted(handler, admission);

    // Act
    const placed = await api(post, context);
    const read = await api(get, context);
    const refused = await api(post, context);

    // Assess
    expect([placed.statusCode, read.statusCode, refused.statusCode]).toEqual([202, 200, 503]);
    expect(admission.stats()).toMatchObject({ backlog: 1, accepted: 1, shed: 1 });
  });

  it('does not count a POST the function refused', async () => {
    // Prepare
    const admission = startAdmission({ maxBacklog: 5 });
    const handler: HttpApiHandler = async () => ({ statusCode: 400, body: '{"error":"items: required"}' });

    // Act
    await admitted(handler, admission)(post, context);

    // Assess
    expect(admission.stats().backlog).toBe(0);
  });
});

describe('finalOrderIdOf', () => {
  const event = (detailType: string, detail: unknown) =>
    ({ 'detail-type': detailType, detail }) as EventBridgeEvent<string, unknown>;

  it('names the order of a final detail type or of a status change into a final status', () => {
    // Act + Assess
    expect(finalOrderIdOf(event('OrderConfirmed', { orderId: 'a', status: 'CONFIRMED' }))).toBe('a');
    expect(finalOrderIdOf(event('OrderRejected', { orderId: 'b' }))).toBe('b');
    expect(finalOrderIdOf(event('OrderStatusChanged', { orderId: 'c', status: 'CANCELLED' }))).toBe('c');
  });

  it('is undefined for a status change that is not final, or an event without an order', () => {
    // Act + Assess
    expect(finalOrderIdOf(event('OrderStatusChanged', { orderId: 'd', status: 'VALIDATED' }))).toBeUndefined();
    expect(finalOrderIdOf(event('OrderConfirmed', {}))).toBeUndefined();
  });
});
