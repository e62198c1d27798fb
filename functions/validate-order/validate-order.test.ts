import { describe, expect, it } from '@jest/globals';
import { ValidationError } from '../../shared/errors.js';
import type { Currency, EventOf, OrderflowEvent } from '../../shared/events.js';
import { derivedId } from '../../shared/ids.js';
import type { EventPublisher } from '../../shared/kafka.js';
import { orderPlacedEvent, testEvent } from '../../shared/testing/fixtures.js';
import { type Catalog, validateOrder } from './validate-order.js';

const NOW = Date.parse('2026-11-21T10:00:00.000Z');

/** An in-memory catalog that records the lookups made. */
class FakeCatalog implements Catalog {
  readonly lookups: string[] = [];
  constructor(
    private readonly prices: Record<string, Partial<Record<Currency, number>>>,
    private readonly blocked: readonly string[] = [],
  ) {}

  async pricesFor(skus: readonly string[], currency: Currency): Promise<ReadonlyMap<string, number>> {
    this.lookups.push(`prices:${currency}:${skus.join(',')}`);
    const found = new Map<string, number>();
    for (const sku of skus) {
      const price = this.prices[sku]?.[currency];
      if (price !== undefined) found.set(sku, price);
    }
    return found;
  }

  async isBlocked(customerId: string): Promise<boolean> {
    this.lookups.push(`blocked:${customerId}`);
    return this.blocked.includes(customerId);
  }
}

/** A publisher that keeps what it was given. */
class FakePublisher implements EventPublisher {
  readonly published: { events: OrderflowEvent[]; traceparent: string | undefined }[] = [];
  async publish(events: readonly OrderflowEvent[], context?: { traceparent?: string }): Promise<void> {
    this.published.push({ events: [...events], traceparent: context?.traceparent });
  }
  get events(): OrderflowEvent[] {
    return this.published.flatMap((p) => p.events);
  }
}

const CATALOG = {
  'SKU-BOOK': { EUR: 4299, USD: 4599, GBP: 3799 },
  'SKU-MUG': { EUR: 1299, USD: 1399, GBP: 1099 },
  'SKU-EUR-ONLY': { EUR: 500 },
};

/** cust-42's order of two books and a mug, placed five seconds before NOW. */
function orderPlaced(overrides: Partial<EventOf<'OrderPlaced'>> = {}): EventOf<'OrderPlaced'> {
  return orderPlacedEvent({
    eventId: 'e0c8a1d2-0000-4000-8000-000000000001',
    occurredAt: NOW - 5_000,
    customerId: 'cust-42',
    items: [
      { sku: 'SKU-BOOK', quantity: 2 },
      { sku: 'SKU-MUG', quantity: 1 },
    ],
    ...overrides,
  });
}

function setup(blocked: readonly string[] = []) {
  const catalog = new FakeCatalog(CATALOG, blocked);
  const publisher = new FakePublisher();
  return { catalog, publisher, ports: { catalog, publisher, clock: () => NOW } };
}

describe('validateOrder', () => {
  it('prices the order from the catalog and publishes OrderValidated', async () => {
    // Prepare
    const { ports, publisher } = setup();
    const order = orderPlaced();

    // Act
    const result = await validateOrder(order, ports);

    // Assess
    expect(publisher.events).toEqual([
      {
        type: 'OrderValidated',
        eventId: derivedId('validate-order', order.eventId, 'OrderValidated'),
        orderId: 'order-1',
        occurredAt: NOW,
        correlationId: 'corr-1',
        customerId: 'cust-42',
        email: 'ada.lovelace@example.com',
        currency: 'EUR',
        lines: [
          { sku: 'SKU-BOOK', quantity: 2, unitPriceCents: 4299, lineTotalCents: 8598 },
          { sku: 'SKU-MUG', quantity: 1, unitPriceCents: 1299, lineTotalCents: 1299 },
        ],
        totalCents: 9897,
        status: 'PENDING',
        validatedAt: NOW,
        paymentToken: 'tok_visa',
      },
    ]);
    expect(result.outcome).toBe('OrderValidated');
  });

  it('uses the price of the order currency', async () => {
    // Prepare
    const { ports, publisher } = setup();

    // Act
    await validateOrder(orderPlaced({ currency: 'GBP', paymentToken: null }), ports);

    // Assess
    expect(publisher.events[0]).toMatchObject({
      type: 'OrderValidated',
      currency: 'GBP',
      totalCents: 2 * 3799 + 1099,
      paymentToken: null,
    });
  });

  it('prices a SKU listed on two lines once per line and looks it up once', async () => {
    // Prepare
    const { ports, publisher, catalog } = setup();
    const items = [
      { sku: 'SKU-MUG', quantity: 1 },
      { sku: 'SKU-MUG', quantity: 3 },
    ];

    // Act
    await validateOrder(orderPlaced({ items }), ports);

    // Assess
    expect(publisher.events[0]).toMatchObject({
      totalCents: 4 * 1299,
      lines: [{ lineTotalCents: 1299 }, { lineTotalCents: 3897 }],
    });
    expect(catalog.lookups).toEqual(['blocked:cust-42', 'prices:EUR:SKU-MUG']);
  });

  it('rejects with UNKNOWN_SKU listing every SKU the catalog does not price in the currency', async () => {
    // Prepare
    const { ports, publisher } = setup();
    const order = orderPlaced({
      currency: 'USD',
      items: [
        { sku: 'SKU-BOOK', quantity: 1 },
        { sku: 'SKU-NOPE', quantity: 1 },
        { sku: 'SKU-EUR-ONLY', quantity: 1 },
      ],
    });

    // Act
    const result = await validateOrder(order, ports);

    // Assess
    expect(result.outcome).toBe('OrderRejected');
    expect(publisher.events).toEqual([
      {
        type: 'OrderRejected',
        eventId: derivedId('validate-order', order.eventId, 'OrderRejected'),
        orderId: 'order-1',
        occurredAt: NOW,
        correlationId: 'corr-1',
        customerId: 'cust-42',
        email: 'ada.lovelace@example.com',
        reason: 'UNKNOWN_SKU',
        detail: 'unknown SKUs in USD: SKU-NOPE, SKU-EUR-ONLY',
      },
    ]);
  });

  it('rejects a blocked customer with CUSTOMER_BLOCKED before looking at prices', async () => {
    // Prepare
    const { ports, publisher, catalog } = setup(['cust-42']);

    // Act
    await validateOrder(orderPlaced({ items: [{ sku: 'SKU-NOPE', quantity: 1 }] }), ports);

    // Assess
    expect(publisher.events).toMatchObject([{ type: 'OrderRejected', reason: 'CUSTOMER_BLOCKED' }]);
    expect(catalog.lookups).toEqual(['blocked:cust-42']);
  });

  it('re-emits an identical event when the same OrderPlaced is delivered again', async () => {
    // Prepare
    const { ports, publisher } = setup();
    const order = orderPlaced();

    // Act
    await validateOrder(order, ports);
    await validateOrder(structuredClone(order), ports);

    // Assess
    const [first, second] = publisher.events;
    expect(second).toEqual(first);
  });

  it('derives different event ids for different source events', async () => {
    // Prepare
    const { ports, publisher } = setup();

    // Act
    await validateOrder(orderPlaced(), ports);
    await validateOrder(orderPlaced({ eventId: 'e0c8a1d2-0000-4000-8000-000000000002' }), ports);

    // Assess
    const ids = publisher.events.map((e) => e.eventId);
    expect(new Set(ids).size).toBe(2);
  });

  it('passes the trace context to the publisher', async () => {
    // Prepare
    const { ports, publisher } = setup();
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

    // Act
    await validateOrder(orderPlaced(), ports, { traceparent });

    // Assess
    expect(publisher.published[0]?.traceparent).toBe(traceparent);
  });

  it('ignores events of other types', async () => {
    // Prepare
    const { ports, publisher, catalog } = setup();
    const payment = testEvent('PaymentProcessed', { eventId: 'p-1', occurredAt: NOW, amountCents: 100 });

    // Act
    const result = await validateOrder(payment, ports);

    // Assess
    expect(result).toEqual({ outcome: 'IGNORED', type: 'PaymentProcessed' });
    expect(publisher.events).toEqual([]);
    expect(catalog.lookups).toEqual([]);
  });

  it.each([
    [
      'the quantity is zero',
      { items: [{ sku: 'SKU-BOOK', quantity: 0 }] },
      /items\[0\]\.quantity must be a positive integer, got 0/,
    ],
    ['the quantity is negative', { items: [{ sku: 'SKU-BOOK', quantity: -2 }] }, /got -2/],
    ['the order has no items', { items: [] }, /order has no items/],
    ['the currency is not accepted', { currency: 'JPY' }, /currency "JPY" is not one of EUR,USD,GBP/],
    ['a SKU is empty', { items: [{ sku: ' ', quantity: 1 }] }, /items\[0\]\.sku is empty/],
    ['the customer id is empty', { customerId: '' }, /customerId is empty/],
  ])('fails with ValidationError when %s', async (_case, overrides, message) => {
    // Prepare
    const { ports, publisher, catalog } = setup();

    // Act
    const result = validateOrder(orderPlaced(overrides as Partial<EventOf<'OrderPlaced'>>), ports);

    // Assess
    await expect(result).rejects.toThrow(ValidationError);
    await expect(result).rejects.toThrow(message);
    expect(publisher.events).toEqual([]);
    expect(catalog.lookups).toEqual([]);
  });

  it('fails with ValidationError when the total overflows safe integers', async () => {
    // Prepare
    const { publisher } = setup();
    const catalog = new FakeCatalog({ 'SKU-GOLD': { EUR: Number.MAX_SAFE_INTEGER } });

    // Act
    const result = validateOrder(orderPlaced({ items: [{ sku: 'SKU-GOLD', quantity: 3 }] }), {
      catalog,
      publisher,
      clock: () => NOW,
    });

    // Assess
    await expect(result).rejects.toThrow(/is not a safe integer/);
    expect(publisher.events).toEqual([]);
  });

  it('fails without publishing when the catalog fails', async () => {
    // Prepare
    const { publisher } = setup();
    const catalog = new FakeCatalog(CATALOG);
    catalog.pricesFor = async () => {
      throw new Error('ThrottlingException');
    };

    // Act
    const result = validateOrder(orderPlaced(), { catalog, publisher, clock: () => NOW });

    // Assess
    await expect(result).rejects.toThrow('ThrottlingException');
    expect(publisher.events).toEqual([]);
  });
});
