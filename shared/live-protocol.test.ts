import { describe, expect, it } from '@jest/globals';
import { MAX_CLIENT_MESSAGE_BYTES, parseClientMessage, serverMessage } from './live-protocol.js';

describe('parseClientMessage', () => {
  it('accepts a subscription to one order and to every order, and an unsubscription', () => {
    // Act
    const one = parseClientMessage('{"action":"subscribe","orderId":"3f2a-ord_1"}');
    const all = parseClientMessage('{"action":"subscribe","orderId":"*"}');
    const off = parseClientMessage('{"action":"unsubscribe","orderId":"*"}');

    // Assess
    expect(one).toEqual({ ok: true, message: { action: 'subscribe', orderId: '3f2a-ord_1' } });
    expect(all).toEqual({ ok: true, message: { action: 'subscribe', orderId: '*' } });
    expect(off).toEqual({ ok: true, message: { action: 'unsubscribe', orderId: '*' } });
  });

  it('refuses a message over the size limit before parsing it, counting UTF-8 bytes', () => {
    // Prepare: under the limit in characters, over it in bytes.
    const body = JSON.stringify({ action: 'subscribe', orderId: '€'.repeat(MAX_CLIENT_MESSAGE_BYTES / 2) });

    // Act
    const parsed = parseClientMessage(body);

    // Assess
    expect(body.length).toBeLessThan(MAX_CLIENT_MESSAGE_BYTES);
    expect(parsed).toMatchObject({ ok: false, error: { type: 'error', code: 'MESSAGE_TOO_LARGE' } });
  });

  it.each([
    ['not JSON', 'INVALID_JSON', 'hello'],
    ['empty', 'INVALID_JSON', ''],
    ['an unknown action', 'INVALID_MESSAGE', '{"action":"dance","orderId":"o-1"}'],
    ['no order id', 'INVALID_MESSAGE', '{"action":"subscribe"}'],
    ['an order id with a slash', 'INVALID_MESSAGE', '{"action":"subscribe","orderId":"../o-1"}'],
    ['an extra field', 'INVALID_MESSAGE', '{"action":"subscribe","orderId":"o-1","as":"admin"}'],
    ['a JSON array', 'INVALID_MESSAGE', '[1,2]'],
  ])('refuses %s with %s, never throwing', (_name, code, body) => {
    // Act
    const parsed = parseClientMessage(body);

    // Assess
    expect(parsed).toMatchObject({ ok: false, error: { type: 'error', code } });
    if (!parsed.ok) expect(serverMessage.safeParse(parsed.error).success).toBe(true);
  });

  it('names the field that is wrong', () => {
    // Act
    const parsed = parseClientMessage('{"action":"subscribe","orderId":42}');

    // Assess
    expect(parsed.ok ? '' : parsed.error.message).toMatch(/^orderId: /);
  });
});
