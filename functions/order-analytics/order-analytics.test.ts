import { describe, expect, it } from '@jest/globals';
import { ValidationError } from '../../shared/errors.js';
import type { Currency, EventOf } from '../../shared/events.js';
import { orderValidatedEvent, testEvent } from '../../shared/testing/fixtures.js';
import {
  type AnalyticsStore,
  averageOrderValue,
  averageOrderValueOf,
  type CurrencyTotals,
  minuteOf,
  type OrderCount,
  type OrderMetrics,
  orderCountOf,
  recordOrderAnalytics,
  recordOrderBatch,
} from './order-analytics.js';

/** An in-memory ANALYTICS table with the marker semantics of the real transaction. */
class FakeStore implements AnalyticsStore {
  readonly markers = new Map<string, OrderCount>();
  readonly items = new Map<string, { orders: number; revenueCents: number }>();
  failNext: Error | undefined;

  async recordOrder(count: OrderCount): Promise<boolean> {
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = undefined;
      throw error;
    }
    if (this.markers.has(count.orderId)) return false;
    this.markers.set(count.orderId, count);
    for (const pk of [`MINUTE#${count.minute}#${count.currency}`, `TOTAL#${count.currency}`]) {
      const item = this.items.get(pk) ?? { orders: 0, revenueCents: 0 };
      this.items.set(pk, { orders: item.orders + 1, revenueCents: item.revenueCents + count.revenueCents });
    }
    return true;
  }

  batches = 0;

  async recordOrders(counts: readonly OrderCount[]): Promise<Map<string, boolean | Error>> {
    this.batches += 1;
    const results = new Map<string, boolean | Error>();
    for (const count of counts) {
      results.set(count.orderId, await this.recordOrder(count).catch((error: Error) => error));
    }
    return results;
  }

  async totals(currency: Currency): Promise<CurrencyTotals | undefined> {
    const item = this.items.get(`TOTAL#${currency}`);
    return item ? { currency, ...item } : undefined;
  }
}

/** Metrics that remember the counts reported. */
class FakeMetrics implements OrderMetrics {
  readonly counted: OrderCount[] = [];
  orderCounted(count: OrderCount): void {
    this.counted.push(count);
  }
}

const VALIDATED_AT = Date.parse('2025-11-21T04:40:59.999Z');

function orderValidated(overrides: Partial<EventOf<'OrderValidated'>> = {}): EventOf<'OrderValidated'> {
  return orderValidatedEvent({
    eventId: 'ev-1',
    occurredAt: VALIDATED_AT,
    validatedAt: VALIDATED_AT,
    customerId: 'cust-42',
    lines: [{ sku: 'SKU-BOOK', quantity: 2, unitPriceCents: 4299, lineTotalCents: 8598 }],
    totalCents: 8598,
    paymentToken: null,
    ...overrides,
  });
}

function setup() {
  const store = new FakeStore();
  const metrics = new FakeMetrics();
  return { store, metrics, ports: { store, metrics } };
}

describe('recordOrderAnalytics', () => {
  it('counts a validated order in its minute and currency totals and reports it', async () => {
    // Prepare
    const { ports, store, metrics } = setup();

    // Act
    const result = await recordOrderAnalytics(orderValidated(), ports);

    // Assess
    const count = {
      orderId: 'order-1',
      eventId: 'ev-1',
      currency: 'EUR',
      revenueCents: 8598,
      minute: '2025-11-21T04:40',
      validatedAt: VALIDATED_AT,
    };
    expect(result).toEqual({ outcome: 'COUNTED', count });
    expect(store.items.get('MINUTE#2025-11-21T04:40#EUR')).toEqual({ orders: 1, revenueCents: 8598 });
    expect(store.items.get('TOTAL#EUR')).toEqual({ orders: 1, revenueCents: 8598 });
    expect(metrics.counted).toEqual([count]);
  });

  it('buckets by validatedAt, not by when the event is processed or occurred', async () => {
    // Prepare
    const { ports, store } = setup();
    const event = orderValidated({ occurredAt: Date.parse('2025-11-21T09:00:00.000Z') });

    // Act
    await recordOrderAnalytics(event, ports);

    // Assess
    expect([...store.items.keys()]).toEqual(['MINUTE#2025-11-21T04:40#EUR', 'TOTAL#EUR']);
  });

  it('counts an order once and reports it once when it is delivered again', async () => {
    // Prepare
    const { ports, store, metrics } = setup();
    const event = orderValidated();

    // Act
    const first = await recordOrderAnalytics(event, ports);
    const replay = await recordOrderAnalytics(structuredClone(event), ports);

    // Assess
    expect([first.outcome, replay.outcome]).toEqual(['COUNTED', 'ALREADY_COUNTED']);
    expect(store.items.get('TOTAL#EUR')).toEqual({ orders: 1, revenueCents: 8598 });
    expect(metrics.counted).toHaveLength(1);
  });

  it('ignores OrderRejected', async () => {
    // Prepare
    const { ports, store, metrics } = setup();
    const rejected = testEvent('OrderRejected', {
      eventId: 'ev-2',
      orderId: 'order-2',
      occurredAt: VALIDATED_AT,
      correlationId: 'corr-2',
      customerId: 'cust-42',
      reason: 'CUSTOMER_BLOCKED',
      detail: 'customer cust-42 is blocked',
    });

    // Act
    const result = await recordOrderAnalytics(rejected, ports);

    // Assess
    expect(result).toEqual({ outcome: 'IGNORED', type: 'OrderRejected' });
    expect(store.markers.size).toBe(0);
    expect(metrics.counted).toEqual([]);
  });

  it('fails without reporting when the store fails', async () => {
    // Prepare
    const { ports, store, metrics } = setup();
    store.failNext = new Error('TransactionConflict');

    // Act
    const result = recordOrderAnalytics(orderValidated(), ports);

    // Assess
    await expect(result).rejects.toThrow('TransactionConflict');
    expect(metrics.counted).toEqual([]);
  });

  it.each([
    ['the currency is not accepted', { currency: 'JPY' }, /currency "JPY" is not one of EUR,USD,GBP/],
    ['the total is negative', { totalCents: -1 }, /totalCents must be a non-negative integer, got -1/],
    ['the total is fractional', { totalCents: 10.5 }, /got 10.5/],
    ['validatedAt is missing', { validatedAt: 0 }, /validatedAt must be epoch milliseconds, got 0/],
  ])('fails with ValidationError when %s', async (_case, overrides, message) => {
    // Prepare
    const { ports, store, metrics } = setup();

    // Act
    const result = recordOrderAnalytics(orderValidated(overrides as Partial<EventOf<'OrderValidated'>>), ports);

    // Assess
    await expect(result).rejects.toThrow(ValidationError);
    await expect(result).rejects.toThrow(message);
    expect(store.markers.size).toBe(0);
    expect(metrics.counted).toEqual([]);
  });
});

describe('recordOrderBatch', () => {
  it('counts the orders of a batch in one call, each once, and leaves what it cannot count to the record', async () => {
    // Prepare
    const { store } = setup();
    await store.recordOrder(orderCountOf(orderValidated({ orderId: 'o-0', eventId: 'ev-0' })));
    const first = orderValidated({ orderId: 'o-1', eventId: 'ev-1' });
    const again = orderValidated({ orderId: 'o-1', eventId: 'ev-1' });
    const replayed = orderValidated({ orderId: 'o-0', eventId: 'ev-0' });
    const invalid = orderValidated({ orderId: 'o-2', eventId: 'ev-2', totalCents: -1 });
    const rejected = testEvent('OrderRejected', {
      eventId: 'ev-3',
      orderId: 'o-3',
      occurredAt: VALIDATED_AT,
      correlationId: 'c',
      customerId: 'cust-42',
      email: 'ada@example.com',
      reason: 'UNKNOWN_SKU',
      detail: 'unknown',
    });

    // Act
    const outcomes = await recordOrderBatch([first, again, replayed, invalid, rejected], store);

    // Assess
    expect(store.batches).toBe(1);
    expect(outcomes.get(first)).toMatchObject({ outcome: 'COUNTED' });
    expect(outcomes.get(replayed)).toMatchObject({ outcome: 'ALREADY_COUNTED' });
    expect(outcomes.get(rejected)).toEqual({ outcome: 'IGNORED', type: 'OrderRejected' });
    expect(outcomes.has(again)).toBe(false);
    expect(outcomes.has(invalid)).toBe(false);
    expect(store.items.get('TOTAL#EUR')).toEqual({ orders: 2, revenueCents: 2 * 8598 });
  });
});

describe('minuteOf', () => {
  it('formats the UTC minute of an instant', () => {
    expect(minuteOf(Date.parse('2025-11-21T04:40:59.999Z'))).toBe('2025-11-21T04:40');
    expect(minuteOf(Date.parse('2025-12-31T23:59:00.000+01:00'))).toBe('2025-12-31T22:59');
  });
});

describe('averageOrderValue', () => {
  it('divides revenue by orders', () => {
    expect(averageOrderValue({ orders: 4, revenueCents: 10_001 })).toBe(2500.25);
  });

  it('is undefined without orders', () => {
    expect(averageOrderValue({ orders: 0, revenueCents: 0 })).toBeUndefined();
  });

  it('reads the running totals of a currency from the store', async () => {
    // Prepare
    const { ports, store } = setup();
    await recordOrderAnalytics(orderValidated(), ports);
    await recordOrderAnalytics(orderValidated({ eventId: 'ev-3', orderId: 'order-3', totalCents: 1402 }), ports);

    // Act
    const [eur, usd] = [await averageOrderValueOf(store, 'EUR'), await averageOrderValueOf(store, 'USD')];

    // Assess
    expect(eur).toBe(5000);
    expect(usd).toBeUndefined();
  });
});
