import { describe, expect, it } from '@jest/globals';
import type { OrderStatusChangedDetail, OrderTransitionDetail } from '../../shared/bus.js';
import { TransientError } from '../../shared/errors.js';
import type { EventOf, OrderflowEvent } from '../../shared/events.js';
import { orderPlacedEvent, orderValidatedEvent, testEvent } from '../../shared/testing/fixtures.js';
import {
  applyOrderEvent,
  type BusEntry,
  type BusPublisher,
  deriveStatus,
  foldOrderEvents,
  type ItemWrite,
  impliedPath,
  type OrderFacts,
  type OrderStatusItem,
  type OrderStore,
  type PublishFailure,
  trackOrderBatch,
  trackOrderEvent,
  VersionConflictError,
} from './order-status.js';

const T0 = 1_763_700_000_000;
const NOW = new Date('2026-11-21T10:00:00.000Z');
const ORDER_ID = 'o-1';
const EMAIL = 'ada.lovelace@example.com';

/** An in-memory ORDER_STATUS table with the same version check as the DynamoDB adapter. */
class MemoryOrderStore implements OrderStore {
  readonly items = new Map<string, OrderStatusItem>();
  puts = 0;
  gets = 0;
  getManys = 0;
  putManys = 0;
  /** Orders `getMany` leaves out, as DynamoDB leaves throttled keys unprocessed. */
  readonly unprocessed = new Set<string>();
  /** Runs just before the next put is checked: a concurrent writer. */
  beforeNextPut: (() => void) | undefined;

  async get(orderId: string): Promise<OrderStatusItem | undefined> {
    this.gets += 1;
    const item = this.items.get(orderId);
    return item === undefined ? undefined : structuredClone(item);
  }

  async getMany(orderIds: readonly string[]): Promise<Map<string, OrderStatusItem | undefined>> {
    this.getManys += 1;
    const found = new Map<string, OrderStatusItem | undefined>();
    for (const orderId of orderIds) {
      if (this.unprocessed.has(orderId)) continue;
      const item = this.items.get(orderId);
      found.set(orderId, item === undefined ? undefined : structuredClone(item));
    }
    return found;
  }

  async put(item: OrderStatusItem, expectedVersion: number | undefined): Promise<void> {
    const hook = this.beforeNextPut;
    this.beforeNextPut = undefined;
    hook?.();
    const stored = this.items.get(item.orderId);
    if (stored?.version !== expectedVersion) {
      throw new VersionConflictError(`expected ${expectedVersion}, found ${stored?.version}`);
    }
    this.items.set(item.orderId, structuredClone(item));
    this.puts += 1;
  }

  async putMany(writes: readonly ItemWrite[]): Promise<Map<string, Error>> {
    this.putManys += 1;
    const failed = new Map<string, Error>();
    for (const { item, expectedVersion } of writes) {
      await this.put(item, expectedVersion).catch((error: Error) => failed.set(item.orderId, error));
    }
    return failed;
  }

  item(orderId = ORDER_ID): OrderStatusItem {
    const item = this.items.get(orderId);
    if (!item) throw new Error(`no item for ${orderId}`);
    return item;
  }
}

/**
 * A bus that records what it took: final transitions in `published`, OrderStatusChanged details in
 * `statusChanges`; `failNext` makes the next publish take nothing, `rejectNext` makes it refuse the entries of
 * those transition ids (a partial failure).
 */
class MemoryBus implements BusPublisher {
  readonly published: OrderTransitionDetail[] = [];
  readonly statusChanges: OrderStatusChangedDetail[] = [];
  publishes = 0;
  failNext: Error | undefined;
  rejectNext = new Set<string>();

  async publish(entries: readonly BusEntry[]): Promise<PublishFailure[]> {
    this.publishes += 1;
    const error = this.failNext;
    const rejected = this.rejectNext;
    this.failNext = undefined;
    this.rejectNext = new Set();
    if (error) return entries.map((entry) => ({ entry, reason: error.message }));
    const failures: PublishFailure[] = [];
    for (const entry of entries) {
      if (rejected.has(entry.detail.transitionId)) failures.push({ entry, reason: 'InternalFailure' });
      else if (entry.detailType === 'OrderStatusChanged') this.statusChanges.push(entry.detail);
      else this.published.push(entry.detail);
    }
    return failures;
  }
}

/** The final transitions among `entries`. */
const finals = (entries: readonly BusEntry[]) =>
  entries.flatMap((e) => (e.detailType === 'OrderStatusChanged' ? [] : [e.detail]));

function setup() {
  const store = new MemoryOrderStore();
  const bus = new MemoryBus();
  const ports = { store, bus, clock: () => NOW };
  const deliver = async (...events: OrderflowEvent[]) => {
    for (const event of events) await trackOrderEvent(event, ports);
  };
  return { store, bus, ports, deliver };
}

const base = (type: string, step: number, orderId = ORDER_ID) => ({
  eventId: `${orderId}-${type}`,
  orderId,
  occurredAt: T0 + step * 1000,
  correlationId: `corr-${orderId}`,
});

const placed = (orderId = ORDER_ID): EventOf<'OrderPlaced'> =>
  orderPlacedEvent({
    ...base('OrderPlaced', 0, orderId),
    customerId: 'cust-42',
    email: EMAIL,
    items: [{ sku: 'SKU-1', quantity: 2 }],
    paymentToken: null,
  });
/** Validated at its `occurredAt`, totalling its one line (1234 cents). */
const validated = (): EventOf<'OrderValidated'> =>
  orderValidatedEvent({
    ...base('OrderValidated', 1),
    customerId: 'cust-42',
    email: EMAIL,
    lines: [{ sku: 'SKU-1', quantity: 2, unitPriceCents: 617, lineTotalCents: 1234 }],
    paymentToken: null,
  });
const validatedOf = (orderId: string): EventOf<'OrderValidated'> => ({
  ...validated(),
  ...base('OrderValidated', 1, orderId),
});
const rejected = (): EventOf<'OrderRejected'> =>
  testEvent('OrderRejected', {
    ...base('OrderRejected', 1),
    customerId: 'cust-42',
    email: EMAIL,
    reason: 'UNKNOWN_SKU',
    detail: 'unknown SKU: SKU-1',
  });
const reserved = (): EventOf<'InventoryReserved'> =>
  testEvent('InventoryReserved', { ...base('InventoryReserved', 2), lines: [{ sku: 'SKU-1', quantity: 2 }] });
const stockOut = (step = 2): EventOf<'InventoryRejected'> =>
  testEvent('InventoryRejected', { ...base('InventoryRejected', step), reason: 'OUT_OF_STOCK', skus: ['SKU-1'] });
/** The payment events are of the order's 1234 EUR cents, as pay-1. */
const paid = (): EventOf<'PaymentProcessed'> =>
  testEvent('PaymentProcessed', { ...base('PaymentProcessed', 3), paymentId: 'pay-1', amountCents: 1234 });
const declined = (step = 3): EventOf<'PaymentFailed'> =>
  testEvent('PaymentFailed', { ...base('PaymentFailed', step), amountCents: 1234, reason: 'PAYMENT_DECLINED' });
const refunded = (): EventOf<'PaymentRefunded'> =>
  testEvent('PaymentRefunded', { ...base('PaymentRefunded', 4), paymentId: 'pay-1', amountCents: 1234 });

function permutations<T>(values: readonly T[]): T[][] {
  if (values.length <= 1) return [[...values]];
  return values.flatMap((v, i) =>
    permutations([...values.slice(0, i), ...values.slice(i + 1)]).map((rest) => [v, ...rest]),
  );
}

const fact = (at: number) => ({ eventId: `e-${at}`, at });
const failure = (at: number, reason: string) => ({ ...fact(at), reason });

describe('deriveStatus', () => {
  it.each<[string, OrderFacts, { status: string; reason?: string }]>([
    ['no facts', {}, { status: 'PLACED' }],
    ['placed', { placed: fact(0) }, { status: 'PLACED' }],
    ['only compensations', { inventoryReleased: fact(4), paymentRefunded: fact(4) }, { status: 'PLACED' }],
    ['validated', { placed: fact(0), validated: fact(1) }, { status: 'VALIDATED' }],
    ['validated and reserved', { validated: fact(1), inventoryReserved: fact(2) }, { status: 'VALIDATED' }],
    ['validated and paid', { validated: fact(1), paymentProcessed: fact(3) }, { status: 'VALIDATED' }],
    ['reserved and paid', { inventoryReserved: fact(2), paymentProcessed: fact(3) }, { status: 'CONFIRMED' }],
    [
      'validated, reserved and paid',
      { placed: fact(0), validated: fact(1), inventoryReserved: fact(2), paymentProcessed: fact(3) },
      { status: 'CONFIRMED' },
    ],
    [
      'out of stock',
      { validated: fact(1), inventoryRejected: failure(2, 'OUT_OF_STOCK') },
      { status: 'CANCELLED', reason: 'OUT_OF_STOCK' },
    ],
    [
      'declined',
      { validated: fact(1), inventoryReserved: fact(2), paymentFailed: failure(3, 'PAYMENT_DECLINED') },
      { status: 'CANCELLED', reason: 'PAYMENT_DECLINED' },
    ],
    [
      'out of stock although paid',
      { inventoryRejected: failure(2, 'OUT_OF_STOCK'), paymentProcessed: fact(3) },
      { status: 'CANCELLED', reason: 'OUT_OF_STOCK' },
    ],
    [
      'both failures, stock first',
      { inventoryRejected: failure(2, 'OUT_OF_STOCK'), paymentFailed: failure(3, 'PAYMENT_DECLINED') },
      { status: 'CANCELLED', reason: 'OUT_OF_STOCK' },
    ],
    [
      'both failures, payment first',
      { inventoryRejected: failure(5, 'OUT_OF_STOCK'), paymentFailed: failure(3, 'PAYMENT_DECLINED') },
      { status: 'CANCELLED', reason: 'PAYMENT_DECLINED' },
    ],
    [
      'rejected',
      { placed: fact(0), rejected: failure(1, 'UNKNOWN_SKU') },
      { status: 'REJECTED', reason: 'UNKNOWN_SKU' },
    ],
    [
      'rejected beats everything',
      {
        rejected: failure(1, 'CUSTOMER_BLOCKED'),
        inventoryRejected: failure(2, 'OUT_OF_STOCK'),
        inventoryReserved: fact(2),
        paymentProcessed: fact(3),
      },
      { status: 'REJECTED', reason: 'CUSTOMER_BLOCKED' },
    ],
  ])('derives the status of %s', (_name, facts, expected) => {
    // Act
    const derived = deriveStatus(facts);

    // Assess
    expect(derived).toEqual(expected);
  });
});

describe('applyOrderEvent', () => {
  it('merges the order data from whichever event carries it', () => {
    // Prepare
    const first = applyOrderEvent(undefined, paid(), NOW);

    // Act
    const second = applyOrderEvent(first, placed(), NOW);

    // Assess
    expect(first).toMatchObject({ currency: 'EUR', totalCents: 1234, status: 'PLACED', version: 1 });
    expect(first?.email).toBeUndefined();
    expect(second).toMatchObject({
      orderId: ORDER_ID,
      customerId: 'cust-42',
      email: EMAIL,
      currency: 'EUR',
      items: [{ sku: 'SKU-1', quantity: 2 }],
      totalCents: 1234,
      correlationId: `corr-${ORDER_ID}`,
      version: 2,
      updatedAt: NOW.toISOString(),
    });
  });

  it('appends to the history only when the status changes', () => {
    // Act
    const item = [placed(), reserved(), validated(), paid()].reduce<OrderStatusItem | undefined>(
      (current, event) => applyOrderEvent(current, event, NOW),
      undefined,
    );

    // Assess
    expect(item?.history).toEqual([
      { status: 'PLACED', at: new Date(T0).toISOString() },
      { status: 'VALIDATED', at: new Date(T0 + 1000).toISOString() },
      { status: 'CONFIRMED', at: new Date(T0 + 3000).toISOString() },
    ]);
  });

  it('returns nothing for an event it has applied before', () => {
    // Prepare
    const item = applyOrderEvent(undefined, placed(), NOW);

    // Act
    const again = applyOrderEvent(item, placed(), NOW);

    // Assess
    expect(again).toBeUndefined();
  });

  it('drops the reason of an earlier status', () => {
    // Prepare: an earlier status with a reason can only be final, which sticks; so build one by hand.
    const item = { ...(applyOrderEvent(undefined, placed(), NOW) as OrderStatusItem), reason: 'STALE' };

    // Act
    const next = applyOrderEvent(item, validated(), NOW);

    // Assess
    expect(next?.status).toBe('VALIDATED');
    expect(next).not.toHaveProperty('reason');
  });
});

describe('trackOrderEvent', () => {
  const happyPath = [placed(), validated(), reserved(), paid()];

  it.each(permutations(happyPath).map((events) => [events.map((e) => e.type).join(' > '), events]))(
    'confirms the order once when delivered as %s',
    async (_order, events) => {
      // Prepare
      const { store, bus, deliver } = setup();

      // Act
      await deliver(...(events as OrderflowEvent[]));

      // Assess
      expect(bus.published).toEqual([
        {
          orderId: ORDER_ID,
          transitionId: `${ORDER_ID}:CONFIRMED`,
          status: 'CONFIRMED',
          customerId: 'cust-42',
          email: EMAIL,
          currency: 'EUR',
          totalCents: 1234,
          items: [{ sku: 'SKU-1', quantity: 2 }],
          occurredAt: expect.any(String),
          correlationId: `corr-${ORDER_ID}`,
        },
      ]);
      const item = store.item();
      expect(item.status).toBe('CONFIRMED');
      expect(item.history.at(-1)?.status).toBe('CONFIRMED');
      expect(item.pendingPublications).toEqual([]);
      expect(item.publishedTransitionIds).toEqual([`${ORDER_ID}:CONFIRMED`]);
      expect(item.appliedEventIds).toHaveLength(4);
    },
  );

  it('writes and publishes nothing for a redelivered event', async () => {
    // Prepare
    const { store, bus, ports, deliver } = setup();
    await deliver(...happyPath);
    const puts = store.puts;

    // Act
    const outcomes = await Promise.all(happyPath.map((event) => trackOrderEvent(event, ports)));

    // Assess
    expect(outcomes.map((o) => o.applied)).toEqual([false, false, false, false]);
    expect(store.puts).toBe(puts);
    expect(bus.published).toHaveLength(1);
  });

  it('cancels with OUT_OF_STOCK when the stock runs out', async () => {
    // Prepare
    const { store, bus, deliver } = setup();

    // Act
    await deliver(placed(), validated(), stockOut());

    // Assess
    expect(store.item()).toMatchObject({ status: 'CANCELLED', reason: 'OUT_OF_STOCK' });
    expect(bus.published).toEqual([
      expect.objectContaining({ transitionId: `${ORDER_ID}:CANCELLED`, status: 'CANCELLED', reason: 'OUT_OF_STOCK' }),
    ]);
  });

  it('cancels with PAYMENT_DECLINED when the payment fails', async () => {
    // Prepare
    const { store, bus, deliver } = setup();

    // Act
    await deliver(placed(), validated(), reserved(), declined());

    // Assess
    expect(store.item()).toMatchObject({ status: 'CANCELLED', reason: 'PAYMENT_DECLINED' });
    expect(bus.published.map((d) => [d.status, d.reason])).toEqual([['CANCELLED', 'PAYMENT_DECLINED']]);
  });

  it('keeps the reason of the first failure it recorded when a second one arrives', async () => {
    // Prepare
    const { store, bus, deliver } = setup();

    // Act: the decline happened first but arrives last; the cancellation is already announced.
    await deliver(placed(), validated(), stockOut(5), declined(3));

    // Assess
    expect(store.item()).toMatchObject({ status: 'CANCELLED', reason: 'OUT_OF_STOCK' });
    expect(store.item().facts.paymentFailed?.reason).toBe('PAYMENT_DECLINED');
    expect(bus.published).toHaveLength(1);
  });

  it('keeps CANCELLED when the payment succeeds after the cancellation', async () => {
    // Prepare
    const { store, bus, deliver } = setup();

    // Act
    await deliver(placed(), validated(), stockOut(), paid(), refunded());

    // Assess
    expect(store.item()).toMatchObject({ status: 'CANCELLED', reason: 'OUT_OF_STOCK' });
    expect(store.item().facts.paymentRefunded).toBeDefined();
    expect(store.item().history.map((h) => h.status)).toEqual(['PLACED', 'VALIDATED', 'CANCELLED']);
    expect(bus.published.map((d) => d.transitionId)).toEqual([`${ORDER_ID}:CANCELLED`]);
  });

  it('keeps CONFIRMED when a failure arrives after the confirmation', async () => {
    // Prepare
    const { store, bus, deliver } = setup();

    // Act
    await deliver(...happyPath, stockOut(9));

    // Assess
    expect(store.item().status).toBe('CONFIRMED');
    expect(store.item()).not.toHaveProperty('reason');
    expect(bus.published.map((d) => d.status)).toEqual(['CONFIRMED']);
  });

  it('keeps REJECTED whatever arrives after it', async () => {
    // Prepare
    const { store, bus, deliver } = setup();

    // Act
    await deliver(rejected(), placed(), reserved(), paid());

    // Assess
    expect(store.item()).toMatchObject({ status: 'REJECTED', reason: 'UNKNOWN_SKU' });
    expect(bus.published.map((d) => d.transitionId)).toEqual([`${ORDER_ID}:REJECTED`]);
  });

  it('announces a rejection at once: OrderRejected carries the recipient', async () => {
    // Prepare
    const { bus, deliver } = setup();

    // Act
    await deliver(rejected());

    // Assess
    expect(bus.published).toEqual([
      expect.objectContaining({
        status: 'REJECTED',
        reason: 'UNKNOWN_SKU',
        email: EMAIL,
        customerId: 'cust-42',
        currency: '',
        totalCents: 0,
        items: [],
      }),
    ]);
  });

  it('keeps a cancellation pending until the order data is known, then publishes it', async () => {
    // Prepare
    const { store, bus, deliver } = setup();

    // Act
    await deliver(stockOut());
    const afterStockOut = structuredClone(store.item());
    await deliver(placed());
    const afterPlaced = bus.published.length;
    await deliver(validated());

    // Assess
    expect(afterStockOut).toMatchObject({ status: 'CANCELLED', reason: 'OUT_OF_STOCK' });
    expect(afterStockOut.pendingPublications).toEqual([
      {
        transitionId: `${ORDER_ID}:CANCELLED`,
        status: 'CANCELLED',
        reason: 'OUT_OF_STOCK',
        occurredAt: new Date(T0 + 2000).toISOString(),
        correlationId: `corr-${ORDER_ID}`,
      },
    ]);
    expect(afterPlaced).toBe(0);
    expect(bus.published).toEqual([
      expect.objectContaining({ status: 'CANCELLED', email: EMAIL, totalCents: 1234, currency: 'EUR' }),
    ]);
    expect(store.item().pendingPublications).toEqual([]);
  });

  it('fails with TransientError when the bus is away, and the retry publishes once', async () => {
    // Prepare
    const { store, bus, ports, deliver } = setup();
    await deliver(placed(), validated(), reserved());
    bus.failNext = new Error('EventBridge: ServiceUnavailable');

    // Act
    const failure = await trackOrderEvent(paid(), ports).catch((e: unknown) => e);
    const pendingAfterFailure = store.item().pendingPublications.length;
    const retry = await trackOrderEvent(paid(), ports);
    const redelivery = await trackOrderEvent(paid(), ports);

    // Assess
    expect(failure).toBeInstanceOf(TransientError);
    expect((failure as Error).message).toContain('EventBridge: ServiceUnavailable');
    expect(pendingAfterFailure).toBe(1);
    expect(retry).toMatchObject({ applied: false, status: 'CONFIRMED' });
    expect(finals(retry.published).map((d) => d.transitionId)).toEqual([`${ORDER_ID}:CONFIRMED`]);
    expect(redelivery.published).toEqual([]);
    expect(bus.published).toHaveLength(1);
    expect(store.item().pendingPublications).toEqual([]);
  });

  it('re-reads and retries when another writer changed the item', async () => {
    // Prepare
    const { store, ports, deliver } = setup();
    await deliver(placed());
    store.beforeNextPut = () => {
      const current = store.item();
      const concurrent = applyOrderEvent(current, reserved(), NOW) as OrderStatusItem;
      store.items.set(ORDER_ID, concurrent);
    };

    // Act
    const outcome = await trackOrderEvent(validated(), ports);

    // Assess
    expect(outcome.applied).toBe(true);
    expect(store.item().appliedEventIds).toEqual([
      `${ORDER_ID}-OrderPlaced`,
      `${ORDER_ID}-InventoryReserved`,
      `${ORDER_ID}-OrderValidated`,
    ]);
    // Two writes per status change (the event, then the outbox's clearing write) and one for the reservation.
    expect(store.item().version).toBe(5);
  });

  it('fails with TransientError when the item keeps changing', async () => {
    // Prepare
    const { store, ports, deliver } = setup();
    await deliver(placed());
    const bump = () => {
      const current = store.item();
      store.items.set(ORDER_ID, { ...current, version: current.version + 1 });
      store.beforeNextPut = bump;
    };
    store.beforeNextPut = bump;

    // Act
    const failure = await trackOrderEvent(validated(), { ...ports, maxAttempts: 3 }).catch((e: unknown) => e);

    // Assess
    expect(failure).toBeInstanceOf(TransientError);
    expect((failure as Error).message).toContain('kept changing under 3 attempts');
    expect(store.item().status).toBe('PLACED');
  });

  it('clears the outbox on a re-read item when the clearing write conflicts', async () => {
    // Prepare
    const { store, bus, ports, deliver } = setup();
    await deliver(placed(), validated(), reserved());
    let puts = 0;
    const original = store.put.bind(store);
    store.put = async (item, expected) => {
      puts += 1;
      // The second put is the outbox clearing: a concurrent refund lands just before it.
      if (puts === 2) {
        const current = store.item();
        store.items.set(ORDER_ID, applyOrderEvent(current, refunded(), NOW) as OrderStatusItem);
      }
      return original(item, expected);
    };

    // Act
    await trackOrderEvent(paid(), ports);

    // Assess
    expect(bus.published).toHaveLength(1);
    expect(store.item().pendingPublications).toEqual([]);
    expect(store.item().publishedTransitionIds).toEqual([`${ORDER_ID}:CONFIRMED`]);
    expect(store.item().facts.paymentRefunded).toBeDefined();
  });
});

describe('status changes (OrderStatusChanged)', () => {
  it('publishes every transition once, in order, with the previous status and the reason', async () => {
    // Prepare
    const { bus, deliver } = setup();

    // Act
    await deliver(placed(), validated(), reserved(), declined(), placed());

    // Assess
    expect(bus.statusChanges).toEqual([
      {
        orderId: ORDER_ID,
        transitionId: `${ORDER_ID}:PLACED`,
        status: 'PLACED',
        occurredAt: new Date(T0).toISOString(),
        correlationId: `corr-${ORDER_ID}`,
      },
      expect.objectContaining({ status: 'VALIDATED', previousStatus: 'PLACED', transitionId: `${ORDER_ID}:VALIDATED` }),
      expect.objectContaining({ status: 'CANCELLED', previousStatus: 'VALIDATED', reason: 'PAYMENT_DECLINED' }),
    ]);
    expect(bus.published.map((d) => d.status)).toEqual(['CANCELLED']);
  });

  it('starts with PLACED when a later event is the first to arrive', async () => {
    // Prepare
    const { store, bus, deliver } = setup();

    // Act
    await deliver(validated(), placed());

    // Assess
    expect(bus.statusChanges.map((c) => [c.previousStatus, c.status])).toEqual([
      [undefined, 'PLACED'],
      ['PLACED', 'VALIDATED'],
    ]);
    expect(store.item().history.map((h) => h.status)).toEqual(['PLACED', 'VALIDATED']);
  });

  it('implies VALIDATED when stock and payment are known before the validation', async () => {
    // Prepare
    const { store, bus, deliver } = setup();

    // Act
    await deliver(placed(), reserved(), paid(), validated());

    // Assess
    expect(bus.statusChanges.map((c) => [c.previousStatus, c.status])).toEqual([
      [undefined, 'PLACED'],
      ['PLACED', 'VALIDATED'],
      ['VALIDATED', 'CONFIRMED'],
    ]);
    expect(store.item().history.map((h) => h.status)).toEqual(['PLACED', 'VALIDATED', 'CONFIRMED']);
    expect(bus.published.map((d) => d.status)).toEqual(['CONFIRMED']);
  });

  it.each([
    [undefined, 'CONFIRMED', ['PLACED', 'VALIDATED', 'CONFIRMED']],
    [undefined, 'CANCELLED', ['PLACED', 'VALIDATED', 'CANCELLED']],
    [undefined, 'REJECTED', ['PLACED', 'REJECTED']],
    [undefined, 'PLACED', ['PLACED']],
    ['PLACED', 'CANCELLED', ['VALIDATED', 'CANCELLED']],
    ['PLACED', 'REJECTED', ['REJECTED']],
    ['VALIDATED', 'CONFIRMED', ['CONFIRMED']],
  ] as const)('passes from %s to %s through %j', (from, to, path) => {
    expect(impliedPath(from, to)).toEqual(path);
  });

  it('keeps unpublished changes in the outbox when the bus is away, and publishes them once on the retry', async () => {
    // Prepare
    const { store, bus, ports, deliver } = setup();
    await deliver(placed());
    bus.failNext = new Error('EventBridge: ServiceUnavailable');

    // Act
    const failure = await trackOrderEvent(validated(), ports).catch((e: unknown) => e);
    const pendingAfterFailure = store.item().pendingStatusChanges?.map((c) => c.status);
    await trackOrderEvent(validated(), ports);
    await trackOrderEvent(validated(), ports);

    // Assess
    expect(failure).toBeInstanceOf(TransientError);
    expect(pendingAfterFailure).toEqual(['VALIDATED']);
    expect(bus.statusChanges.map((c) => c.status)).toEqual(['PLACED', 'VALIDATED']);
    expect(store.item().pendingStatusChanges).toEqual([]);
  });

  it('publishes nothing new for an item written before status changes existed', async () => {
    // Prepare
    const { store, bus, ports, deliver } = setup();
    await deliver(placed());
    const { pendingStatusChanges: _dropped, ...legacy } = store.item();
    store.items.set(ORDER_ID, legacy);
    const published = bus.statusChanges.length;

    // Act
    await trackOrderEvent(placed(), ports);
    await trackOrderEvent(validated(), ports);

    // Assess
    expect(bus.statusChanges.slice(published).map((c) => c.status)).toEqual(['VALIDATED']);
  });
});

describe('foldOrderEvents', () => {
  const happyPath = [placed(), validated(), reserved(), paid()];
  const cancelPath = [placed(), validated(), stockOut(), paid(), refunded()];

  it.each(
    [...permutations(happyPath), ...permutations(cancelPath).slice(0, 24)].map((events) => [
      events.map((e) => e.type).join(' > '),
      events,
    ]),
  )('gives the item applying %s one at a time gives, in one write', (_order, events) => {
    // Prepare
    const list = events as OrderflowEvent[];
    let oneByOne: OrderStatusItem | undefined;
    for (const event of list) oneByOne = applyOrderEvent(oneByOne, event, NOW) ?? oneByOne;
    const split = Math.floor(list.length / 2);
    const firstHalf = foldOrderEvents(undefined, list.slice(0, split), NOW);

    // Act
    const atOnce = foldOrderEvents(undefined, list, NOW);
    const inTwo = foldOrderEvents(firstHalf, list.slice(split), NOW);

    // Assess: the same facts, status, history and outbox; only the version counts writes.
    expect(atOnce).toEqual({ ...oneByOne, version: 1 });
    expect(inTwo).toEqual({ ...oneByOne, version: 2 });
  });

  it('returns nothing when every event was applied before', () => {
    // Prepare
    const item = foldOrderEvents(undefined, [placed(), validated()], NOW);

    // Act
    const again = foldOrderEvents(item, [validated(), placed()], NOW);

    // Assess
    expect(again).toBeUndefined();
  });
});

describe('trackOrderBatch', () => {
  const OTHER = 'o-2';

  it('reads the batch once, writes each order once and publishes every entry in one call', async () => {
    // Prepare
    const { store, bus, ports } = setup();
    await trackOrderEvent(placed(OTHER), ports);
    const before = { gets: store.gets, publishes: bus.publishes };

    // Act
    const outcomes = await trackOrderBatch([placed(), validated(), validatedOf(OTHER), reserved(), paid()], ports);

    // Assess
    expect(store.getManys).toBe(1);
    expect(store.gets - before.gets).toBe(0);
    expect(store.putManys).toBe(2);
    expect(bus.publishes - before.publishes).toBe(1);
    expect(store.item()).toMatchObject({ status: 'CONFIRMED', version: 2, pendingPublications: [] });
    expect(store.item(OTHER)).toMatchObject({ status: 'VALIDATED', pendingStatusChanges: [] });
    expect(bus.published.map((d) => d.transitionId)).toEqual([`${ORDER_ID}:CONFIRMED`]);
    expect(bus.statusChanges.map((c) => c.transitionId)).toEqual([
      `${OTHER}:PLACED`,
      `${ORDER_ID}:PLACED`,
      `${ORDER_ID}:VALIDATED`,
      `${ORDER_ID}:CONFIRMED`,
      `${OTHER}:VALIDATED`,
    ]);
    expect(outcomes.get(ORDER_ID)).toMatchObject({ status: 'CONFIRMED', recorded: true });
    expect(outcomes.get(ORDER_ID)?.appliedEventIds.size).toBe(4);
    expect(outcomes.get(OTHER)).toMatchObject({ previousStatus: 'PLACED', status: 'VALIDATED' });
    expect(outcomes.get(OTHER)?.error).toBeUndefined();
  });

  it('gives the items and bus entries one event at a time gives', async () => {
    // Prepare
    const batched = setup();
    const single = setup();
    const events = [placed(), reserved(), validated(), paid()];

    // Act
    await trackOrderBatch(events, batched.ports);
    await single.deliver(...events);

    // Assess
    const { version: _v1, ...batchedItem } = batched.store.item();
    const { version: _v2, ...singleItem } = single.store.item();
    expect(batchedItem).toEqual(singleItem);
    expect(batched.bus.published).toEqual(single.bus.published);
    expect(batched.bus.statusChanges).toEqual(single.bus.statusChanges);
  });

  it('writes and publishes nothing for a batch delivered again', async () => {
    // Prepare
    const { store, bus, ports } = setup();
    const events = [placed(), validated(), reserved(), paid()];
    await trackOrderBatch(events, ports);
    const puts = store.puts;
    const publishes = bus.publishes;

    // Act
    const outcomes = await trackOrderBatch(events, ports);

    // Assess
    expect(store.puts).toBe(puts);
    expect(bus.publishes).toBe(publishes);
    expect(outcomes.get(ORDER_ID)).toMatchObject({ status: 'CONFIRMED', published: [], recorded: true });
    expect(outcomes.get(ORDER_ID)?.appliedEventIds.size).toBe(0);
  });

  it('re-reads and re-folds an order another writer moved, and applies both', async () => {
    // Prepare
    const { store, ports, deliver } = setup();
    await deliver(placed());
    store.beforeNextPut = () => {
      store.items.set(ORDER_ID, applyOrderEvent(store.item(), reserved(), NOW) as OrderStatusItem);
    };
    const readsBefore = store.gets;

    // Act
    const outcomes = await trackOrderBatch([validated(), paid()], ports);

    // Assess: read, conflict, read again.
    expect(outcomes.get(ORDER_ID)?.error).toBeUndefined();
    expect(store.gets - readsBefore).toBe(2);
    expect(store.item()).toMatchObject({ status: 'CONFIRMED', pendingPublications: [] });
    expect(store.item().appliedEventIds).toHaveLength(4);
  });

  it('fails one order with TransientError when it keeps changing, and completes the others', async () => {
    // Prepare
    const { store, ports, deliver } = setup();
    await deliver(placed(), placed(OTHER));
    const original = store.put.bind(store);
    store.put = async (item, expected) => {
      if (item.orderId === ORDER_ID) {
        const current = store.item();
        store.items.set(ORDER_ID, { ...current, version: current.version + 1 });
      }
      return original(item, expected);
    };

    // Act
    const outcomes = await trackOrderBatch([validated(), validatedOf(OTHER)], { ...ports, maxAttempts: 3 });

    // Assess
    const error = outcomes.get(ORDER_ID)?.error;
    expect(error).toBeInstanceOf(TransientError);
    expect(error?.message).toContain('kept changing under 3 attempts');
    expect(outcomes.get(ORDER_ID)?.recorded).toBe(false);
    expect(store.item().status).toBe('PLACED');
    expect(outcomes.get(OTHER)?.error).toBeUndefined();
    expect(store.item(OTHER).status).toBe('VALIDATED');
  });

  it('reads an order the batch read left out one by one', async () => {
    // Prepare
    const { store, ports, deliver } = setup();
    await deliver(placed(), placed(OTHER));
    store.unprocessed.add(ORDER_ID);
    const readsBefore = store.gets;

    // Act
    await trackOrderBatch([validated(), validatedOf(OTHER)], ports);

    // Assess
    expect(store.gets - readsBefore).toBe(1);
    expect(store.item().status).toBe('VALIDATED');
    expect(store.item(OTHER).status).toBe('VALIDATED');
  });

  it('keeps an entry the bus refused pending and fails its order; the redelivery publishes it once', async () => {
    // Prepare
    const { store, bus, ports, deliver } = setup();
    await deliver(placed(), validated(), reserved(), placed(OTHER));
    bus.rejectNext = new Set([`${ORDER_ID}:CONFIRMED`]);

    // Act
    const failed = await trackOrderBatch([paid(), validatedOf(OTHER)], ports);
    const pending = store.item();
    const retried = await trackOrderBatch([paid()], ports);

    // Assess: both CONFIRMED entries share the transition id; the bus refused both.
    const error = failed.get(ORDER_ID)?.error;
    expect(error).toBeInstanceOf(TransientError);
    expect(error?.message).toContain(`OrderConfirmed ${ORDER_ID}:CONFIRMED (InternalFailure)`);
    expect(failed.get(ORDER_ID)?.recorded).toBe(true);
    expect(pending.pendingPublications.map((p) => p.status)).toEqual(['CONFIRMED']);
    expect(failed.get(OTHER)?.error).toBeUndefined();
    expect(store.item(OTHER).pendingStatusChanges).toEqual([]);
    expect(retried.get(ORDER_ID)?.error).toBeUndefined();
    expect(bus.published.map((d) => d.transitionId)).toEqual([`${ORDER_ID}:CONFIRMED`]);
    expect(bus.statusChanges.filter((c) => c.transitionId === `${ORDER_ID}:CONFIRMED`)).toHaveLength(1);
    expect(store.item()).toMatchObject({ pendingPublications: [], pendingStatusChanges: [] });
  });

  it('fails with TransientError when the bus is away, keeping every entry pending', async () => {
    // Prepare
    const { store, bus, ports } = setup();
    bus.failNext = new Error('EventBridge: ServiceUnavailable');

    // Act
    const outcomes = await trackOrderBatch([placed(), validated()], ports);

    // Assess
    expect(outcomes.get(ORDER_ID)?.error?.message).toContain('EventBridge: ServiceUnavailable');
    expect(store.item().pendingStatusChanges?.map((c) => c.status)).toEqual(['PLACED', 'VALIDATED']);
    expect(bus.statusChanges).toEqual([]);
  });

  it('clears the outbox on a re-read item when the clearing write conflicts, keeping what the other writer added', async () => {
    // Prepare: the other writer's write lands just before our clearing write, and adds a pending change.
    const { store, bus, ports, deliver } = setup();
    await deliver(placed(), validated(), reserved());
    let puts = 0;
    const original = store.put.bind(store);
    store.put = async (item, expected) => {
      puts += 1;
      if (puts === 2) {
        const current = store.item();
        const moved = applyOrderEvent(current, refunded(), NOW) as OrderStatusItem;
        store.items.set(ORDER_ID, {
          ...moved,
          pendingStatusChanges: [
            ...(moved.pendingStatusChanges ?? []),
            { status: 'CANCELLED', occurredAt: 'x', correlationId: 'c' },
          ],
        });
      }
      return original(item, expected);
    };

    // Act
    const outcomes = await trackOrderBatch([paid()], ports);

    // Assess
    expect(outcomes.get(ORDER_ID)?.error).toBeUndefined();
    expect(bus.published).toHaveLength(1);
    expect(store.item().pendingPublications).toEqual([]);
    expect(store.item().publishedTransitionIds).toEqual([`${ORDER_ID}:CONFIRMED`]);
    expect(store.item().facts.paymentRefunded).toBeDefined();
    expect(store.item().pendingStatusChanges?.map((c) => c.status)).toEqual(['CANCELLED']);
  });
});
