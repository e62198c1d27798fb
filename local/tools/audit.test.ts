import { describe, expect, it } from '@jest/globals';
import {
  type AuditInput,
  auditOrders,
  decidedAt,
  emailTemplateFor,
  mergedLines,
  type PaymentRow,
  type PlacedOrder,
  percentile,
  type ReservationRow,
  type StatusRow,
} from './audit.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const iso = (ms: number) => new Date(T0 + ms).toISOString();

function confirmedRow(decidedAfterMs: number, totalCents = 1000): StatusRow {
  return {
    status: 'CONFIRMED',
    totalCents,
    history: [
      { status: 'PLACED', at: iso(1) },
      { status: 'VALIDATED', at: iso(2) },
      { status: 'CONFIRMED', at: iso(decidedAfterMs) },
    ],
  };
}

/** Two confirmed orders, one declined and one rejected, every effect exactly as it should be. */
function cleanRun(): {
  orders: PlacedOrder[];
  statuses: Map<string, StatusRow>;
  reservations: Map<string, ReservationRow>;
  payments: Map<string, PaymentRow>;
  emails: AuditInput['emails'];
  stock: NonNullable<AuditInput['stock']>;
} {
  const orders: PlacedOrder[] = [
    { orderId: 'o-1', placedAt: T0, items: [{ sku: 'A', quantity: 2 }], expected: { status: 'CONFIRMED' } },
    {
      orderId: 'o-2',
      placedAt: T0 + 10,
      items: [
        { sku: 'A', quantity: 1 },
        { sku: 'B', quantity: 3 },
      ],
    },
    {
      orderId: 'o-3',
      placedAt: T0 + 20,
      items: [{ sku: 'B', quantity: 1 }],
      expected: { status: 'CANCELLED', reason: 'PAYMENT_DECLINED' },
    },
    { orderId: 'o-4', placedAt: T0 + 30, items: [{ sku: 'X', quantity: 1 }], expected: { status: 'REJECTED' } },
  ];
  return {
    orders,
    statuses: new Map<string, StatusRow>([
      ['o-1', confirmedRow(100)],
      ['o-2', confirmedRow(1_010, 2_000)],
      ['o-3', { status: 'CANCELLED', reason: 'PAYMENT_DECLINED', history: [{ status: 'CANCELLED', at: iso(220) }] }],
      ['o-4', { status: 'REJECTED', reason: 'UNKNOWN_SKU', history: [{ status: 'REJECTED', at: iso(130) }] }],
    ]),
    reservations: new Map<string, ReservationRow>([
      ['o-1', { status: 'RESERVED', lines: [{ sku: 'A', quantity: 2 }] }],
      [
        'o-2',
        {
          status: 'RESERVED',
          lines: [
            { sku: 'B', quantity: 3 },
            { sku: 'A', quantity: 1 },
          ],
        },
      ],
      ['o-3', { status: 'RELEASED', lines: [{ sku: 'B', quantity: 1 }] }],
    ]),
    payments: new Map<string, PaymentRow>([
      ['o-1', { status: 'CHARGED', amountCents: 1000 }],
      ['o-2', { status: 'CHARGED', amountCents: 2000 }],
      ['o-3', { status: 'FAILED', amountCents: 500 }],
    ]),
    emails: [
      { messageId: 'm-1', orderId: 'o-1', template: 'orderflow-order-confirmed' },
      { messageId: 'm-2', orderId: 'o-2', template: 'orderflow-order-confirmed' },
      { messageId: 'm-3', orderId: 'o-3', template: 'orderflow-order-cancelled' },
      { messageId: 'm-4', orderId: 'o-4', template: 'orderflow-order-cancelled' },
      { messageId: 'm-9', orderId: 'someone-else', template: 'orderflow-order-confirmed' },
    ],
    stock: {
      before: new Map([
        ['A', 100],
        ['B', 50],
      ]),
      after: new Map([
        ['A', 97],
        ['B', 47],
      ]),
    },
  };
}

describe('percentile', () => {
  it('picks the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);

    expect([percentile(values, 50), percentile(values, 99), percentile(values, 100)]).toEqual([50, 99, 100]);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('audit helpers', () => {
  it('takes the decision time from the deciding facts, else from the history', () => {
    const confirmed = {
      ...confirmedRow(1_000),
      facts: { inventoryReserved: { at: T0 + 1_300 }, paymentProcessed: { at: T0 + 1_000 } },
    };
    const cancelled = {
      status: 'CANCELLED',
      history: [{ status: 'CANCELLED', at: iso(900) }],
      facts: { inventoryRejected: { at: T0 + 900 }, paymentFailed: { at: T0 + 700 } },
    };

    expect([decidedAt(confirmed), decidedAt(cancelled), decidedAt(confirmedRow(1_234))]).toEqual([
      T0 + 1_300,
      T0 + 700,
      T0 + 1_234,
    ]);
    expect(decidedAt({ status: 'VALIDATED', history: [{ status: 'VALIDATED', at: iso(5) }] })).toBeUndefined();
  });

  it('maps final statuses to the template their email uses', () => {
    expect(['CONFIRMED', 'CANCELLED', 'REJECTED'].map((s) => emailTemplateFor(s as 'CONFIRMED'))).toEqual([
      'orderflow-order-confirmed',
      'orderflow-order-cancelled',
      'orderflow-order-cancelled',
    ]);
  });

  it('merges lines of the same SKU as reserve-inventory does', () => {
    expect(
      mergedLines([
        { sku: 'B', quantity: 1 },
        { sku: 'A', quantity: 2 },
        { sku: 'B', quantity: 4 },
      ]),
    ).toEqual([
      { sku: 'A', quantity: 2 },
      { sku: 'B', quantity: 5 },
    ]);
  });
});

describe('auditOrders', () => {
  it('finds no violation when every effect happened exactly once', () => {
    const run = cleanRun();

    const report = auditOrders({ ...run, observedFinalAt: new Map([['o-1', T0 + 150]]) });

    expect(report).toMatchObject({
      orders: 4,
      final: 4,
      byStatus: { CONFIRMED: 2, CANCELLED: 1, REJECTED: 1 },
      unfinished: [],
      unexpected: [],
      violations: 0,
      charges: { checked: 4, ok: 4, lost: 0, doubled: 0 },
      emails: { checked: 4, ok: 4, lost: 0, doubled: 0 },
    });
    expect(report.stock.perSku).toEqual([
      { sku: 'A', decrement: 3, confirmedQuantity: 3, reservedQuantity: 3 },
      { sku: 'B', decrement: 3, confirmedQuantity: 3, reservedQuantity: 3 },
    ]);
    expect(report.decidedLatency).toMatchObject({ count: 4, p50: 100, max: 1_000 });
    expect(report.observedLatency).toMatchObject({ count: 1, p50: 150 });
  });

  it('reports unfinished orders and statuses other than expected, without counting their effects', () => {
    const run = cleanRun();
    run.statuses.set('o-1', { status: 'VALIDATED', history: [] });
    run.statuses.delete('o-2');
    run.statuses.set('o-3', { status: 'CANCELLED', reason: 'OUT_OF_STOCK', history: [] });

    const report = auditOrders(run);

    expect(report.unfinished).toEqual(['o-1', 'o-2']);
    expect(report.unexpected).toEqual([
      { orderId: 'o-3', expected: 'CANCELLED PAYMENT_DECLINED', actual: 'CANCELLED OUT_OF_STOCK' },
    ]);
    expect(report.charges.checked).toBe(2);
  });

  it('counts a missing charge as lost and a charge left on a cancelled order as doubled', () => {
    const run = cleanRun();
    run.payments.set('o-1', { status: 'REFUNDED', amountCents: 1000 });
    run.payments.set('o-3', { status: 'CHARGED', amountCents: 500 });

    const report = auditOrders(run);

    expect(report.charges).toMatchObject({ lost: 1, doubled: 1, examples: ['lost:o-1', 'doubled:o-3'] });
    expect(report.violations).toBe(2);
  });

  it('counts a charge of the wrong amount as lost', () => {
    const run = cleanRun();
    const orders = run.orders.map((o) => (o.orderId === 'o-1' ? { ...o, expectedTotalCents: 999 } : o));

    expect(auditOrders({ ...run, orders }).charges).toMatchObject({ lost: 1, examples: ['lost:o-1'] });
  });

  it('counts missing and second emails, deduplicating the same message seen twice', () => {
    const run = cleanRun();
    const emails = [
      ...run.emails.filter((e) => e.orderId !== 'o-2'),
      { messageId: 'm-1', orderId: 'o-1', template: 'orderflow-order-confirmed' },
      { messageId: 'm-5', orderId: 'o-4', template: 'orderflow-order-cancelled' },
      { messageId: 'm-6', orderId: 'o-4', template: 'orderflow-order-cancelled' },
    ];

    expect(auditOrders({ ...run, emails }).emails).toMatchObject({ ok: 2, lost: 1, doubled: 2 });
  });

  it('counts an email of the wrong template as lost', () => {
    const run = cleanRun();
    const emails = run.emails.map((e) => (e.orderId === 'o-4' ? { ...e, template: 'orderflow-order-confirmed' } : e));

    expect(auditOrders({ ...run, emails }).emails).toMatchObject({ lost: 1, examples: ['lost:o-4'] });
  });

  it('compares each SKU decrement with the quantities the RESERVED markers hold', () => {
    const run = cleanRun();
    run.stock = {
      before: run.stock.before,
      after: new Map([
        ['A', 95],
        ['B', 48],
      ]),
    };

    const report = auditOrders(run);

    expect(report.stock.skus).toMatchObject({ lost: 1, doubled: 2, examples: ['lost:B', 'doubled:A'] });
    expect(report.violations).toBe(3);
  });

  it('counts the stock of orders not final yet as reserved, not as a violation', () => {
    const run = cleanRun();
    run.statuses.set('o-2', { status: 'VALIDATED', history: [] });

    const report = auditOrders(run);

    expect(report.stock.perSku).toEqual([
      { sku: 'A', decrement: 3, confirmedQuantity: 2, reservedQuantity: 3 },
      { sku: 'B', decrement: 3, confirmedQuantity: 0, reservedQuantity: 3 },
    ]);
    expect(report.violations).toBe(0);
  });

  it('counts a confirmed order without its reservation as lost and a cancelled one still holding stock as doubled', () => {
    const run = cleanRun();
    run.reservations.set('o-1', { status: 'REJECTED', lines: [{ sku: 'A', quantity: 2 }] });
    run.reservations.set('o-3', { status: 'RESERVED', lines: [{ sku: 'B', quantity: 1 }] });
    run.stock = {
      before: run.stock.before,
      after: new Map([...run.stock.after].map(([k, v]) => [k, k === 'A' ? v + 2 : v - 1])),
    };

    const report = auditOrders(run);

    expect(report.stock.reservations).toMatchObject({ lost: 1, doubled: 1, examples: ['lost:o-1', 'doubled:o-3'] });
    expect(report.stock.skus).toMatchObject({ lost: 0, doubled: 0 });
  });

  it('derives throughput from the first placement to the last final status', () => {
    const run = cleanRun();
    const observedFinalAt = new Map(run.orders.map((o, i) => [o.orderId, T0 + 1_000 + i * 1_000]));

    const report = auditOrders({ ...run, observedFinalAt });

    expect(report.window).toEqual({ firstPlacedAt: T0, lastFinalAt: T0 + 4_000 });
    expect(report.throughputPerSecond).toBe(1);
  });
});
