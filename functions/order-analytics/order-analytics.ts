/**
 * order-analytics logic: every OrderValidated counted exactly once into per-minute and running totals per
 * currency, however often orders.validated is replayed.
 */
import { ValidationError } from '../../shared/errors.js';
import { CURRENCIES, type Currency, type EventOf, type OrderflowEvent } from '../../shared/events.js';

/** One validated order, as the analytics store counts it. */
export interface OrderCount {
  readonly orderId: string;
  /** The OrderValidated that was counted; kept on the marker for audits. */
  readonly eventId: string;
  readonly currency: Currency;
  readonly revenueCents: number;
  /** `yyyy-mm-ddThh:mm` (UTC) of `validatedAt`. */
  readonly minute: string;
  /** Epoch milliseconds. */
  readonly validatedAt: number;
}

/** Running totals of one currency (the `TOTAL#<currency>` item). */
export interface CurrencyTotals {
  readonly currency: Currency;
  readonly orders: number;
  readonly revenueCents: number;
}

/** The ANALYTICS table. */
export interface AnalyticsStore {
  /**
   * Adds the order to its minute and currency totals together with its `ORDER#<orderId>` marker, atomically.
   * Resolves `false`, changing nothing, when the marker already exists (the order was counted before).
   */
  recordOrder(count: OrderCount): Promise<boolean>;
  /**
   * `recordOrder` for the orders of a batch (one count per order id), in as few calls as fit: never throws,
   * resolves each order id to true (counted now), false (counted before) or the error that kept it uncounted.
   */
  recordOrders(counts: readonly OrderCount[]): Promise<Map<string, boolean | Error>>;
  /** Running totals of `currency`; `undefined` before its first order. */
  totals(currency: Currency): Promise<CurrencyTotals | undefined>;
}

/** Where the per-order metrics go (CloudWatch EMF in Lambda). */
export interface OrderMetrics {
  /** Called once per order, after its count was stored for the first time. */
  orderCounted(count: OrderCount): void;
}

/** What `recordOrderAnalytics` needs. */
export interface AnalyticsPorts {
  readonly store: AnalyticsStore;
  readonly metrics: OrderMetrics;
}

/** What became of one consumed event. */
export type AnalyticsOutcome =
  | { readonly outcome: 'IGNORED'; readonly type: OrderflowEvent['type'] }
  | { readonly outcome: 'COUNTED' | 'ALREADY_COUNTED'; readonly count: OrderCount };

/**
 * Counts an OrderValidated once; other event types (OrderRejected) are ignored. Metrics are emitted only when
 * this call stored the count, so a replay neither double-counts nor double-reports.
 */
export async function recordOrderAnalytics(event: OrderflowEvent, ports: AnalyticsPorts): Promise<AnalyticsOutcome> {
  if (event.type !== 'OrderValidated') return { outcome: 'IGNORED', type: event.type };
  const count = orderCountOf(event);
  if (!(await ports.store.recordOrder(count))) return { outcome: 'ALREADY_COUNTED', count };
  ports.metrics.orderCounted(count);
  return { outcome: 'COUNTED', count };
}

/**
 * `recordOrderAnalytics` for a batch, without its metrics (the caller reports each COUNTED once, in the record's
 * turn): every countable OrderValidated of the batch in one `recordOrders`. An event it leaves out of the map (an
 * order seen twice in the batch, an event it cannot count) is for `recordOrderAnalytics`, one record at a time.
 */
export async function recordOrderBatch(
  events: readonly OrderflowEvent[],
  store: AnalyticsStore,
): Promise<Map<OrderflowEvent, AnalyticsOutcome | Error>> {
  const outcomes = new Map<OrderflowEvent, AnalyticsOutcome | Error>();
  const counts = new Map<string, { event: OrderflowEvent; count: OrderCount }>();
  for (const event of events) {
    if (event.type !== 'OrderValidated') {
      outcomes.set(event, { outcome: 'IGNORED', type: event.type });
      continue;
    }
    if (counts.has(event.orderId)) continue;
    try {
      counts.set(event.orderId, { event, count: orderCountOf(event) });
    } catch {
      // Dead-lettered in its own turn, with its own error.
    }
  }
  const results = await store.recordOrders([...counts.values()].map((c) => c.count));
  for (const [orderId, { event, count }] of counts) {
    const result = results.get(orderId) ?? new Error(`order ${orderId}: no result`);
    if (result instanceof Error) outcomes.set(event, result);
    else outcomes.set(event, { outcome: result ? 'COUNTED' : 'ALREADY_COUNTED', count });
  }
  return outcomes;
}

/** The count of an OrderValidated; throws `ValidationError` when it cannot be counted. */
export function orderCountOf(event: EventOf<'OrderValidated'>): OrderCount {
  const problems: string[] = [];
  if (!isCurrency(event.currency))
    problems.push(`currency ${JSON.stringify(event.currency)} is not one of ${CURRENCIES}`);
  if (!Number.isSafeInteger(event.totalCents) || event.totalCents < 0) {
    problems.push(`totalCents must be a non-negative integer, got ${event.totalCents}`);
  }
  if (!Number.isFinite(event.validatedAt) || event.validatedAt <= 0) {
    problems.push(`validatedAt must be epoch milliseconds, got ${event.validatedAt}`);
  }
  if (problems.length > 0) {
    throw new ValidationError(`OrderValidated ${event.eventId} cannot be counted: ${problems.join('; ')}`);
  }
  return {
    orderId: event.orderId,
    eventId: event.eventId,
    currency: event.currency as Currency,
    revenueCents: event.totalCents,
    // The event's own time, not the processing time: a replay lands in the same bucket as the first delivery.
    minute: minuteOf(event.validatedAt),
    validatedAt: event.validatedAt,
  };
}

/** The UTC minute bucket of an epoch-milliseconds instant: `yyyy-mm-ddThh:mm`. */
export function minuteOf(epochMillis: number): string {
  return new Date(epochMillis).toISOString().slice(0, 16);
}

/** Average order value in cents (revenueCents / orders) of a TOTAL item; `undefined` while it has no orders. */
export function averageOrderValue(totals: Pick<CurrencyTotals, 'orders' | 'revenueCents'>): number | undefined {
  return totals.orders > 0 ? totals.revenueCents / totals.orders : undefined;
}

/** Average order value in cents of `currency` so far, read from the store. */
export async function averageOrderValueOf(store: AnalyticsStore, currency: Currency): Promise<number | undefined> {
  const totals = await store.totals(currency);
  return totals ? averageOrderValue(totals) : undefined;
}

function isCurrency(value: string): value is Currency {
  return (CURRENCIES as readonly string[]).includes(value);
}
