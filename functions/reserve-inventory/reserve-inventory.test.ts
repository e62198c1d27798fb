import { describe, expect, it } from '@jest/globals';
import { PermanentError } from '../../shared/errors.js';
import type { PricedLine } from '../../shared/events.js';
import { derivedId } from '../../shared/ids.js';
import { ConcurrentWriterStore } from '../../shared/testing/concurrent-writer.js';
import { orderValidatedEvent, RecordingPublisher, testEvent, tickingClock } from '../../shared/testing/fixtures.js';
import {
  handleInventoryEvent,
  type InventoryStore,
  MAX_RESERVATION_LINES,
  mergeLines,
  prefetchReservations,
  type Reservation,
  type ReserveInventoryPorts,
  type ReserveResult,
} from './reserve-inventory.js';

const T0 = 1_763_700_000_000;
const ORDER_ID = 'o-1';

/** An in-memory INVENTORY table with the same all-or-nothing and conditional semantics as the DynamoDB adapter. */
class MemoryInventoryStore extends ConcurrentWriterStore implements InventoryStore {
  readonly stock = new Map<string, number>();
  readonly markers = new Map<string, Reservation>();
  /** Stock-moving writes that went through. */
  transactions = 0;

  constructor(stock: Record<string, number>) {
    super();
    for (const [sku, available] of Object.entries(stock)) this.stock.set(sku, available);
  }

  /** Reads that reached the table: one per `getReservation`, one per `getReservations`. */
  reads = 0;

  async getReservation(orderId: string): Promise<Reservation | undefined> {
    this.reads += 1;
    const marker = this.markers.get(orderId);
    return marker === undefined ? undefined : structuredClone(marker);
  }

  async getReservations(orderIds: readonly string[]): Promise<Map<string, Reservation | undefined>> {
    this.reads += 1;
    const marker = (id: string) => this.markers.get(id);
    return new Map(orderIds.map((id) => [id, marker(id) === undefined ? undefined : structuredClone(marker(id))]));
  }

  async reserve(reservation: Reservation & { status: 'RESERVED' }): Promise<ReserveResult> {
    this.concurrentWriter();
    if (this.markers.has(reservation.orderId)) return { kind: 'MARKER_EXISTS' };
    const short = reservation.lines.filter((l) => (this.stock.get(l.sku) ?? Number.NEGATIVE_INFINITY) < l.quantity);
    if (short.length > 0) return { kind: 'OUT_OF_STOCK', skus: short.map((l) => l.sku) };
    for (const l of reservation.lines) this.stock.set(l.sku, (this.stock.get(l.sku) ?? 0) - l.quantity);
    this.markers.set(reservation.orderId, structuredClone(reservation));
    this.transactions += 1;
    return { kind: 'RESERVED' };
  }

  async createReservation(reservation: Reservation): Promise<boolean> {
    this.concurrentWriter();
    if (this.markers.has(reservation.orderId)) return false;
    this.markers.set(reservation.orderId, structuredClone(reservation));
    return true;
  }

  async release(
    reservation: Reservation & { status: 'RESERVED' },
    release: { releasedAt: number; reason: string },
  ): Promise<boolean> {
    this.concurrentWriter();
    const marker = this.markers.get(reservation.orderId);
    if (marker?.status !== 'RESERVED') return false;
    for (const l of marker.lines) this.stock.set(l.sku, (this.stock.get(l.sku) ?? 0) + l.quantity);
    this.markers.set(reservation.orderId, {
      ...marker,
      status: 'RELEASED',
      releasedAt: release.releasedAt,
      releaseReason: release.reason,
    });
    this.transactions += 1;
    return true;
  }
}

function setup(stock: Record<string, number> = { 'SKU-MUG': 10, 'SKU-TEA': 5 }) {
  const store = new MemoryInventoryStore(stock);
  const publisher = new RecordingPublisher();
  const ports: ReserveInventoryPorts = { store, publisher, clock: tickingClock(T0 + 60_000) };
  return { store, publisher, ports };
}

const line = (sku: string, quantity: number): PricedLine => ({
  sku,
  quantity,
  unitPriceCents: 100,
  lineTotalCents: 100 * quantity,
});

/** The SKUs and quantities of the default `orderValidated()`, as the events about its reservation carry them. */
const ORDER_ITEMS = [
  { sku: 'SKU-MUG', quantity: 2 },
  { sku: 'SKU-TEA', quantity: 1 },
];

function orderValidated(lines: readonly PricedLine[] = ORDER_ITEMS.map((i) => line(i.sku, i.quantity))) {
  return orderValidatedEvent({ orderId: ORDER_ID, occurredAt: T0, lines });
}

const paymentFailed = testEvent('PaymentFailed', {
  eventId: 'ev-failed',
  orderId: ORDER_ID,
  occurredAt: T0 + 1000,
  amountCents: 300,
});

describe('handleInventoryEvent on OrderValidated', () => {
  it('reserves every line and emits InventoryReserved', async () => {
    // Prepare
    const { store, publisher, ports } = setup();

    // Act
    const outcome = await handleInventoryEvent(orderValidated(), ports);

    // Assess
    expect(outcome).toMatchObject({ status: 'RESERVED', changed: true });
    expect(Object.fromEntries(store.stock)).toEqual({ 'SKU-MUG': 8, 'SKU-TEA': 4 });
    expect(store.markers.get(ORDER_ID)).toMatchObject({ status: 'RESERVED', correlationId: 'corr-1' });
    expect(publisher.published).toEqual([
      {
        type: 'InventoryReserved',
        eventId: derivedId('reserve-inventory', ORDER_ID, 'InventoryReserved'),
        orderId: ORDER_ID,
        occurredAt: T0 + 60_000,
        correlationId: 'corr-1',
        lines: ORDER_ITEMS,
      },
    ]);
  });

  it('merges lines of the same SKU before reserving', async () => {
    // Prepare
    const { store, publisher, ports } = setup();

    // Act
    await handleInventoryEvent(orderValidated([line('SKU-MUG', 1), line('SKU-TEA', 1), line('SKU-MUG', 3)]), ports);

    // Assess
    expect(store.stock.get('SKU-MUG')).toBe(6);
    expect(publisher.published[0]).toMatchObject({
      lines: [
        { sku: 'SKU-MUG', quantity: 4 },
        { sku: 'SKU-TEA', quantity: 1 },
      ],
    });
  });

  it('rejects an order short of stock without taking any, naming unknown SKUs too', async () => {
    // Prepare
    const { store, publisher, ports } = setup();

    // Act
    const outcome = await handleInventoryEvent(
      orderValidated([line('SKU-MUG', 11), line('SKU-TEA', 1), line('SKU-GONE', 1)]),
      ports,
    );

    // Assess
    expect(outcome).toMatchObject({ status: 'REJECTED', changed: true });
    expect(Object.fromEntries(store.stock)).toEqual({ 'SKU-MUG': 10, 'SKU-TEA': 5 });
    expect(store.markers.get(ORDER_ID)).toMatchObject({ status: 'REJECTED', skus: ['SKU-GONE', 'SKU-MUG'] });
    expect(publisher.published).toEqual([
      {
        type: 'InventoryRejected',
        eventId: derivedId('reserve-inventory', ORDER_ID, 'InventoryRejected'),
        orderId: ORDER_ID,
        occurredAt: T0 + 60_001,
        correlationId: 'corr-1',
        reason: 'OUT_OF_STOCK',
        skus: ['SKU-GONE', 'SKU-MUG'],
      },
    ]);
  });

  it('re-emits the same InventoryReserved on redelivery without taking stock twice', async () => {
    // Prepare
    const { store, publisher, ports } = setup();
    await handleInventoryEvent(orderValidated(), ports);

    // Act
    const outcome = await handleInventoryEvent(orderValidated(), ports);

    // Assess
    expect(outcome).toMatchObject({ status: 'RESERVED', changed: false });
    expect(store.transactions).toBe(1);
    expect(store.stock.get('SKU-MUG')).toBe(8);
    expect(publisher.published).toHaveLength(2);
    expect(publisher.published[1]).toEqual(publisher.published[0]);
  });

  it('re-emits the same InventoryRejected on redelivery even once stock is back', async () => {
    // Prepare
    const { store, publisher, ports } = setup();
    await handleInventoryEvent(orderValidated([line('SKU-MUG', 11)]), ports);
    store.stock.set('SKU-MUG', 100);

    // Act
    await handleInventoryEvent(orderValidated([line('SKU-MUG', 11)]), ports);

    // Assess
    expect(store.stock.get('SKU-MUG')).toBe(100);
    expect(publisher.published.map((e) => e.type)).toEqual(['InventoryRejected', 'InventoryRejected']);
    expect(publisher.published[1]).toEqual(publisher.published[0]);
  });

  it('reports the outcome of a concurrent delivery that wrote the marker first', async () => {
    // Prepare
    const { store, publisher, ports } = setup();
    store.beforeNextWrite = () =>
      store.markers.set(ORDER_ID, {
        orderId: ORDER_ID,
        correlationId: 'corr-1',
        lines: [{ sku: 'SKU-MUG', quantity: 2 }],
        status: 'RESERVED',
        reservedAt: T0 + 5,
      });

    // Act
    const outcome = await handleInventoryEvent(orderValidated(), ports);

    // Assess
    expect(outcome).toMatchObject({ status: 'RESERVED', changed: false });
    expect(store.stock.get('SKU-MUG')).toBe(10);
    expect(publisher.published).toEqual([expect.objectContaining({ type: 'InventoryReserved', occurredAt: T0 + 5 })]);
  });

  it('emits nothing when a PaymentFailed cancelled the order while it was out of stock', async () => {
    // Prepare
    const { store, publisher, ports } = setup();
    store.beforeNextWrite = () => {
      store.beforeNextWrite = () =>
        store.markers.set(ORDER_ID, {
          orderId: ORDER_ID,
          correlationId: 'corr-1',
          lines: [],
          status: 'CANCELLED',
          cancelledAt: T0,
        });
    };

    // Act
    const outcome = await handleInventoryEvent(orderValidated([line('SKU-MUG', 11)]), ports);

    // Assess
    expect(outcome).toMatchObject({ status: 'CANCELLED', changed: false });
    expect(store.markers.get(ORDER_ID)?.status).toBe('CANCELLED');
    expect(publisher.published).toEqual([]);
  });

  it('fails when an order has more distinct SKUs than one transaction holds', async () => {
    // Prepare
    const { store, ports } = setup();
    const lines = Array.from({ length: MAX_RESERVATION_LINES + 1 }, (_, i) => line(`SKU-${i}`, 1));

    // Act
    const handling = handleInventoryEvent(orderValidated(lines), ports);

    // Assess
    await expect(handling).rejects.toThrow(PermanentError);
    await expect(handling).rejects.toMatchObject({ reason: 'PROCESSING_ERROR' });
    expect(store.markers.size).toBe(0);
  });
});

describe('handleInventoryEvent on PaymentFailed', () => {
  it('gives a reservation back exactly once and re-emits the same InventoryReleased', async () => {
    // Prepare
    const { store, publisher, ports } = setup();
    await handleInventoryEvent(orderValidated(), ports);

    // Act
    const first = await handleInventoryEvent(paymentFailed, ports);
    const again = await handleInventoryEvent(paymentFailed, ports);

    // Assess
    expect(first).toMatchObject({ status: 'RELEASED', changed: true });
    expect(again).toMatchObject({ status: 'RELEASED', changed: false });
    expect(Object.fromEntries(store.stock)).toEqual({ 'SKU-MUG': 10, 'SKU-TEA': 5 });
    expect(store.transactions).toBe(2);
    const released = publisher.published.filter((e) => e.type === 'InventoryReleased');
    expect(released).toHaveLength(2);
    expect(released[1]).toEqual(released[0]);
    expect(released[0]).toEqual({
      type: 'InventoryReleased',
      eventId: derivedId('reserve-inventory', ORDER_ID, 'InventoryReleased'),
      orderId: ORDER_ID,
      occurredAt: T0 + 60_001,
      correlationId: 'corr-1',
      lines: ORDER_ITEMS,
      reason: 'PAYMENT_DECLINED',
    });
  });

  it('cancels an order it has not seen, so the later OrderValidated takes nothing and emits nothing', async () => {
    // Prepare
    const { store, publisher, ports } = setup();

    // Act
    const cancelled = await handleInventoryEvent(paymentFailed, ports);
    const validated = await handleInventoryEvent(orderValidated(), ports);

    // Assess
    expect(cancelled).toMatchObject({ status: 'CANCELLED', changed: true });
    expect(validated).toMatchObject({ status: 'CANCELLED', changed: false });
    expect(Object.fromEntries(store.stock)).toEqual({ 'SKU-MUG': 10, 'SKU-TEA': 5 });
    expect(publisher.published).toEqual([]);
  });

  it.each<{
    case: string;
    prepare: (rig: ReturnType<typeof setup>) => void | Promise<void>;
    outcome: { status: string; changed: boolean };
    published: string[];
  }>([
    {
      case: 'releases a reservation that landed while the cancellation was being written',
      prepare: ({ store }) => {
        store.beforeNextWrite = () => {
          store.stock.set('SKU-MUG', 8);
          store.markers.set(ORDER_ID, {
            orderId: ORDER_ID,
            correlationId: 'corr-1',
            lines: [{ sku: 'SKU-MUG', quantity: 2 }],
            status: 'RESERVED',
            reservedAt: T0,
          });
        };
      },
      outcome: { status: 'RELEASED', changed: true },
      published: ['InventoryReleased'],
    },
    {
      case: 'does nothing for an order that was rejected for stock',
      prepare: async ({ ports }) => {
        await handleInventoryEvent(orderValidated([line('SKU-MUG', 11)]), ports);
      },
      outcome: { status: 'REJECTED', changed: false },
      published: ['InventoryRejected'],
    },
  ])('$case', async ({ prepare, outcome, published }) => {
    // Prepare
    const rig = setup();
    await prepare(rig);

    // Act
    const result = await handleInventoryEvent(paymentFailed, rig.ports);

    // Assess
    expect(result).toMatchObject(outcome);
    expect(rig.store.stock.get('SKU-MUG')).toBe(10);
    expect(rig.publisher.published.map((e) => e.type)).toEqual(published);
  });

  it('re-emits InventoryReserved when the OrderValidated is redelivered after the release', async () => {
    // Prepare
    const { store, publisher, ports } = setup();
    await handleInventoryEvent(orderValidated(), ports);
    await handleInventoryEvent(paymentFailed, ports);

    // Act
    await handleInventoryEvent(orderValidated(), ports);

    // Assess
    expect(store.stock.get('SKU-MUG')).toBe(10);
    expect(publisher.published.map((e) => e.type)).toEqual([
      'InventoryReserved',
      'InventoryReleased',
      'InventoryReserved',
    ]);
    expect(publisher.published[2]).toEqual(publisher.published[0]);
  });
});

describe('handleInventoryEvent on other events', () => {
  it('ignores event types it does not handle', async () => {
    // Prepare
    const { store, publisher, ports } = setup();
    const processed = testEvent('PaymentProcessed', {
      eventId: 'ev-paid',
      orderId: ORDER_ID,
      occurredAt: T0,
      amountCents: 300,
    });

    // Act
    const outcome = await handleInventoryEvent(processed, ports);

    // Assess
    expect(outcome).toEqual({ changed: false, published: [] });
    expect(store.markers.size).toBe(0);
    expect(publisher.published).toEqual([]);
  });
});

describe('prefetchReservations', () => {
  it('reads nothing for a batch with nothing to reserve or release', async () => {
    // Prepare
    const { store } = setup();

    // Act
    const prefetched = await prefetchReservations(store, [testEvent('PaymentProcessed', { orderId: ORDER_ID })]);

    // Assess
    expect(prefetched).toBe(store);
    expect(store.reads).toBe(0);
  });

  it('serves each order from the batch read once, then from the table', async () => {
    // Prepare
    const { store, ports } = setup();
    const prefetched = await prefetchReservations(store, [orderValidated(), orderValidated()]);

    // Act
    const first = await handleInventoryEvent(orderValidated(), { ...ports, store: prefetched });
    const second = await handleInventoryEvent(orderValidated(), { ...ports, store: prefetched });

    // Assess: the duplicate read the marker the first one wrote, so it took nothing.
    expect(first).toMatchObject({ status: 'RESERVED', changed: true });
    expect(second).toMatchObject({ status: 'RESERVED', changed: false });
    expect(store.reads).toBe(2);
    expect(store.transactions).toBe(1);
    expect(store.stock.get('SKU-MUG')).toBe(8);
  });

  it('takes no stock when another delivery reserved the order after the batch read', async () => {
    // Prepare: the batch read saw no marker; another invocation then reserved the order.
    const { store, ports, publisher } = setup();
    const prefetched = await prefetchReservations(store, [orderValidated()]);
    await handleInventoryEvent(orderValidated(), ports);

    // Act
    const outcome = await handleInventoryEvent(orderValidated(), { ...ports, store: prefetched });

    // Assess
    expect(outcome).toMatchObject({ status: 'RESERVED', changed: false });
    expect(store.transactions).toBe(1);
    expect(store.stock.get('SKU-MUG')).toBe(8);
    expect(publisher.published[1]).toEqual(publisher.published[0]);
  });

  it('releases once when the batch read saw a reservation another delivery released since', async () => {
    // Prepare
    const { store, ports } = setup();
    await handleInventoryEvent(orderValidated(), ports);
    const prefetched = await prefetchReservations(store, [paymentFailed]);
    await handleInventoryEvent(paymentFailed, ports);

    // Act
    const outcome = await handleInventoryEvent(paymentFailed, { ...ports, store: prefetched });

    // Assess
    expect(outcome).toMatchObject({ status: 'RELEASED', changed: false });
    expect(Object.fromEntries(store.stock)).toEqual({ 'SKU-MUG': 10, 'SKU-TEA': 5 });
    expect(store.transactions).toBe(2);
  });
});

describe('mergeLines', () => {
  it('sums quantities per SKU in first-seen order', () => {
    expect(mergeLines([line('B', 1), line('A', 2), line('B', 3)])).toEqual([
      { sku: 'B', quantity: 4 },
      { sku: 'A', quantity: 2 },
    ]);
  });
});
