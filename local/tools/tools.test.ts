import { describe, expect, it } from '@jest/globals';
import { matches, redriveHeaders } from './dlq-redrive.js';
import { parseMix, pickKind } from './simulate.js';
import { maskEmails } from './tail.js';

describe('simulate mix', () => {
  it('parses weights and picks kinds in proportion', () => {
    const mix = parseMix('good=50,poison=50');

    expect(mix).toMatchObject({ good: 50, poison: 50, decline: 0 });
    expect([0.1, 0.49, 0.51, 0.99].map((u) => pickKind(mix, u))).toEqual(['good', 'good', 'poison', 'poison']);
  });

  it('fails when a kind is unknown or no weight is positive', () => {
    expect(() => parseMix('good=1,refund=2')).toThrow('unknown kind refund');
    expect(() => parseMix('good=0')).toThrow('at least one weight');
    expect(() => parseMix('good=-1')).toThrow('must be a number >= 0');
  });
});

describe('dlq redrive', () => {
  const headers = {
    'event-type': 'OrderPlaced',
    'dlq-reason': 'VALIDATION_ERROR',
    'dlq-consumer': 'validate-order',
    'dlq-source-topic': 'orders.raw',
  };

  it('selects the letters of one consumer, optionally of one reason', () => {
    expect(matches(headers, 'validate-order')).toBe(true);
    expect(matches(headers, 'validate-order', 'VALIDATION_ERROR')).toBe(true);
    expect(matches(headers, 'validate-order', 'SCHEMA_NOT_FOUND')).toBe(false);
    expect(matches(headers, 'order-status')).toBe(false);
  });

  it('drops the dlq headers and records where the letter came from', () => {
    expect(redriveHeaders(headers, 'orders.dlq/0@7')).toEqual({
      'event-type': 'OrderPlaced',
      'dlq-redriven-from': 'orders.dlq/0@7',
    });
  });
});

describe('tail', () => {
  it('masks every email in a decoded value', () => {
    expect(maskEmails({ orderId: 'o', email: 'ada@example.com', lines: [{ email: 'bob@example.com' }] })).toEqual({
      orderId: 'o',
      email: 'a***@example.com',
      lines: [{ email: 'b***@example.com' }],
    });
  });
});
