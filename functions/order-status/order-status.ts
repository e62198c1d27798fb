/**
 * order-status: folds every order event, whatever topic and order it arrives in, into one item per order, and
 * publishes to the bus each transition into a final status (OrderConfirmed, OrderCancelled, OrderRejected) and
 * every status change (OrderStatusChanged, for live updates) exactly once.
 *
 * The item holds the FACTS seen so far; the status is derived from them by a pure function, so the outcome does
 * not depend on the order in which topics deliver. A final status never changes back: the saga's compensations
 * (refund, release) are what undo a late success. Publications go through an outbox on the item: the write that
 * records a transition also records it as pending; it is removed only after PutEvents succeeded.
 */
import type { OrderStatusChangedDetail, OrderTransitionDetail } from '../../shared/bus.js';
import { TransientError } from '../../shared/errors.js';
import type { OrderflowEvent, OrderItem } from '../../shared/events.js';
import { type FinalBusDetailType, STATUS_CHANGED_DETAIL_TYPE } from '../../shared/topology.js';

/** Status of an order as order-api shows it. */
export type OrderStatus = 'PLACED' | 'VALIDATED' | 'REJECTED' | 'CONFIRMED' | 'CANCELLED';

/** A status the order never leaves, announced on the bus. */
export type FinalStatus = OrderTransitionDetail['status'];

/** One fact: which event established it and when it happened (epoch ms). */
export interface Fact {
  readonly eventId: string;
  readonly at: number;
}

/** A fact that ends the order, with the reason carried by its event. */
export interface FailureFact extends Fact {
  readonly reason: string;
}

/** Everything order-status has learnt about an order; only ever grows. */
export interface OrderFacts {
  readonly placed?: Fact;
  readonly validated?: Fact;
  readonly rejected?: FailureFact;
  readonly inventoryReserved?: Fact;
  readonly inventoryRejected?: FailureFact;
  readonly paymentProcessed?: Fact;
  readonly paymentFailed?: FailureFact;
  /** Informational: the compensations that follow a cancellation. */
  readonly inventoryReleased?: Fact;
  readonly paymentRefunded?: Fact;
}

/** One entry of the status history (`at` is the ISO time of the event that caused it). */
export interface HistoryEntry {
  readonly status: OrderStatus;
  readonly at: string;
}

/** A final transition recorded but not yet on the bus (the outbox). */
export interface PendingPublication {
  readonly transitionId: string;
  readonly status: FinalStatus;
  readonly reason?: string;
  /** ISO time of the event that caused the transition. */
  readonly occurredAt: string;
  readonly correlationId: string;
}

/** A status change recorded but not yet on the bus as OrderStatusChanged (the outbox's other half). */
export interface PendingStatusChange {
  readonly status: OrderStatus;
  readonly previousStatus?: OrderStatus;
  readonly reason?: string;
  /** ISO time of the event that caused the change. */
  readonly occurredAt: string;
  readonly correlationId: string;
}

/** One entry for the bus: a final transition, or a status change. */
export type BusEntry =
  | { readonly detailType: FinalBusDetailType; readonly detail: OrderTransitionDetail }
  | { readonly detailType: typeof STATUS_CHANGED_DETAIL_TYPE; readonly detail: OrderStatusChangedDetail };

/** The ORDER_STATUS item: the contract fields order-api reads, plus order-status's bookkeeping. */
export interface OrderStatusItem {
  readonly orderId: string;
  readonly status: OrderStatus;
  readonly reason?: string;
  readonly customerId?: string;
  readonly email?: string;
  readonly currency?: string;
  readonly items?: readonly OrderItem[];
  readonly totalCents?: number;
  /** Correlation id of the request that placed the order (the first event seen). */
  readonly correlationId?: string;
  readonly history: readonly HistoryEntry[];
  readonly facts: OrderFacts;
  /** Ids of the events already folded in: a redelivered event is a no-op. */
  readonly appliedEventIds: readonly string[];
  readonly pendingPublications: readonly PendingPublication[];
  /** Status changes not yet on the bus; absent in items written before OrderStatusChanged existed. */
  readonly pendingStatusChanges?: readonly PendingStatusChange[];
  readonly publishedTransitionIds: readonly string[];
  /** Optimistic-locking counter: every write expects the version it read. */
  readonly version: number;
  /** ISO time of the last write (processing time, from the clock). */
  readonly updatedAt: string;
}

/** One conditional write of an order's item: `item` if the stored item still has `expectedVersion`. */
export interface ItemWrite {
  readonly item: OrderStatusItem;
  /** The version read; undefined when there was no item. */
  readonly expectedVersion: number | undefined;
}

/** Where order items live. `put` must fail with `VersionConflictError` when the stored version is not `expectedVersion`. */
export interface OrderStore {
  get(orderId: string): Promise<OrderStatusItem | undefined>;
  /**
   * Reads many orders at once, as consistently as `get`: the map holds an entry for every order it could read,
   * undefined for an order with no item. An order it could not read (throttled) is left out, not an error.
   */
  getMany(orderIds: readonly string[]): Promise<Map<string, OrderStatusItem | undefined>>;
  /** Writes `item` if the stored item has `expectedVersion` (or, when undefined, if there is no item yet). */
  put(item: OrderStatusItem, expectedVersion: number | undefined): Promise<void>;
  /**
   * Writes items of different orders (at most one write per order), each conditional on its version as `put`, in
   * as few calls as the API allows. Never throws: resolves the writes that failed, by order id
   * (`VersionConflictError` when another writer moved the item, the call's error otherwise); every other write
   * is done.
   */
  putMany(writes: readonly ItemWrite[]): Promise<Map<string, Error>>;
}

/** An entry the bus did not take, and why (the PutEvents error code, or the failed call's error). */
export interface PublishFailure {
  readonly entry: BusEntry;
  readonly reason: string;
}

/** Puts entries on the bus. */
export interface BusPublisher {
  /**
   * Puts `entries` on the bus in as few calls as the API allows; resolves the entries it did not take (the
   * rejected entries of a partial failure, every entry of a call that failed and of the calls after it), empty
   * when all went out. Never throws.
   */
  publish(entries: readonly BusEntry[]): Promise<readonly PublishFailure[]>;
}

/** The ports `trackOrderEvent` runs over. */
export interface OrderStatusPorts {
  readonly store: OrderStore;
  readonly bus: BusPublisher;
  readonly clock: () => Date;
  /** Attempts of a read-modify-write before giving up with a `TransientError`. @default 5 */
  readonly maxAttempts?: number;
}

/** Another writer changed the item between our read and our write. */
export class VersionConflictError extends TransientError {}

/** What handling one event did; for logs and metrics. */
export interface TrackOutcome {
  /** False when the event had been applied before (a redelivery). */
  readonly applied: boolean;
  readonly status: OrderStatus;
  readonly previousStatus?: OrderStatus;
  /** Entries put on the bus by this call (final transitions and status changes). */
  readonly published: readonly BusEntry[];
}

const FINAL_STATUSES: readonly OrderStatus[] = ['CONFIRMED', 'CANCELLED', 'REJECTED'];
const DEFAULT_MAX_ATTEMPTS = 5;

/** Whether an order in `status` can never change status again. */
export function isFinal(status: OrderStatus): status is FinalStatus {
  return FINAL_STATUSES.includes(status);
}

/** The bus detail type announcing a final status. */
export function detailTypeOf(status: FinalStatus): FinalBusDetailType {
  switch (status) {
    case 'CONFIRMED':
      return 'OrderConfirmed';
    case 'CANCELLED':
      return 'OrderCancelled';
    case 'REJECTED':
      return 'OrderRejected';
  }
}

/** The id every subscriber dedupes a transition on (an order enters each status at most once). */
export function transitionIdOf(orderId: string, status: OrderStatus): string {
  return `${orderId}:${status}`;
}

/**
 * The status the facts imply. Rejection wins; then any failure cancels (the reason is the failure that happened
 * first, by occurredAt); then both successes confirm.
 */
export function deriveStatus(facts: OrderFacts): { status: OrderStatus; reason?: string } {
  if (facts.rejected) return { status: 'REJECTED', reason: facts.rejected.reason };
  const failures = [facts.inventoryRejected, facts.paymentFailed].filter((f): f is FailureFact => f !== undefined);
  const first = failures.sort((a, b) => a.at - b.at)[0];
  if (first) return { status: 'CANCELLED', reason: first.reason };
  if (facts.inventoryReserved && facts.paymentProcessed) return { status: 'CONFIRMED' };
  if (facts.validated) return { status: 'VALIDATED' };
  return { status: 'PLACED' };
}

/** An item for an order no event has been applied to yet. */
export function emptyItem(orderId: string, now: Date): OrderStatusItem {
  return {
    orderId,
    status: 'PLACED',
    history: [],
    facts: {},
    appliedEventIds: [],
    pendingPublications: [],
    pendingStatusChanges: [],
    publishedTransitionIds: [],
    version: 0,
    updatedAt: now.toISOString(),
  };
}

/**
 * The statuses an order passes through from `from` (undefined: not seen yet) to `to`, `to` included. Topics
 * deliver independently, so order-status may see a later event before an earlier one: an order's first event
 * here may be OrderValidated, or stock and payment may both be known before its validation. Every order was
 * placed, and stock and payment are only ever taken for a validated order, so the history and the status changes
 * always read PLACED → VALIDATED → CONFIRMED | CANCELLED, or PLACED → REJECTED; a step seen late is recorded at
 * the time of the event that implied it.
 *
 * @example
 * impliedPath(undefined, 'CONFIRMED') // ['PLACED', 'VALIDATED', 'CONFIRMED']
 * impliedPath('PLACED', 'REJECTED') // ['REJECTED']
 */
export function impliedPath(from: OrderStatus | undefined, to: OrderStatus): OrderStatus[] {
  const path: OrderStatus[] = [];
  if (from === undefined && to !== 'PLACED') path.push('PLACED');
  if ((to === 'CONFIRMED' || to === 'CANCELLED') && (from === undefined || from === 'PLACED')) path.push('VALIDATED');
  path.push(to);
  return path;
}

/**
 * Folds `event` into `current` (undefined: no item yet). Returns the next item (version + 1), or undefined when
 * the event was applied before, so a redelivery writes nothing.
 */
export function applyOrderEvent(
  current: OrderStatusItem | undefined,
  event: OrderflowEvent,
  now: Date,
): OrderStatusItem | undefined {
  const base = current ?? emptyItem(event.orderId, now);
  if (base.appliedEventIds.includes(event.eventId)) return undefined;

  const facts = withFact(base.facts, event);
  const order = mergeOrderData(base, event);
  const derived = deriveStatus(facts);
  // A final status is sticky: a late success after a cancellation is undone by the compensations, not here.
  const next = current && isFinal(base.status) ? { status: base.status, reason: base.reason } : derived;
  const changed = current === undefined || next.status !== base.status;
  const at = new Date(event.occurredAt).toISOString();

  const pendingPublications =
    changed && isFinal(next.status)
      ? [
          ...base.pendingPublications,
          {
            transitionId: transitionIdOf(event.orderId, next.status),
            status: next.status,
            ...(next.reason === undefined ? {} : { reason: next.reason }),
            occurredAt: at,
            correlationId: event.correlationId,
          },
        ]
      : base.pendingPublications;

  const entered: HistoryEntry[] = changed
    ? impliedPath(current?.status, next.status).map((status) => ({ status, at }))
    : [];
  const changes = entered.map((entry, i): PendingStatusChange => {
    const previousStatus = i > 0 ? entered[i - 1]?.status : current?.status;
    const reason = entry.status === next.status ? next.reason : undefined;
    return {
      status: entry.status,
      ...(previousStatus === undefined ? {} : { previousStatus }),
      ...(reason === undefined ? {} : { reason }),
      occurredAt: at,
      correlationId: event.correlationId,
    };
  });

  const { reason: _previousReason, ...rest } = base;
  return {
    ...rest,
    ...order,
    status: next.status,
    ...(next.reason === undefined ? {} : { reason: next.reason }),
    history: [...base.history, ...entered],
    facts,
    appliedEventIds: [...base.appliedEventIds, event.eventId],
    pendingPublications,
    pendingStatusChanges: [...(base.pendingStatusChanges ?? []), ...changes],
    version: base.version + 1,
    updatedAt: now.toISOString(),
  };
}

/**
 * The bus details of the pending publications whose email can be written: REJECTED needs the recipient;
 * CONFIRMED and CANCELLED also need the priced order (they always follow OrderValidated, which carries it).
 */
export function readyPublications(item: OrderStatusItem): OrderTransitionDetail[] {
  const { customerId, email } = item;
  if (customerId === undefined || email === undefined) return [];
  const priced = item.currency !== undefined && item.items !== undefined && item.totalCents !== undefined;
  return item.pendingPublications
    .filter((p) => p.status === 'REJECTED' || priced)
    .map((p) => ({
      orderId: item.orderId,
      transitionId: p.transitionId,
      status: p.status,
      ...(p.reason === undefined ? {} : { reason: p.reason }),
      customerId,
      email,
      currency: item.currency ?? '',
      totalCents: item.totalCents ?? 0,
      items: (item.items ?? []).map(({ sku, quantity }) => ({ sku, quantity })),
      occurredAt: p.occurredAt,
      correlationId: p.correlationId,
    }));
}

/**
 * Everything of the outbox that can go on the bus now: the status changes (always ready, they carry no order data),
 * in the order they happened, then the ready final transitions.
 */
export function readyEntries(item: OrderStatusItem): BusEntry[] {
  const changes = (item.pendingStatusChanges ?? []).map(
    (c): BusEntry => ({
      detailType: STATUS_CHANGED_DETAIL_TYPE,
      detail: { orderId: item.orderId, transitionId: transitionIdOf(item.orderId, c.status), ...c },
    }),
  );
  const finals = readyPublications(item).map(
    (detail): BusEntry => ({ detailType: detailTypeOf(detail.status), detail }),
  );
  return [...changes, ...finals];
}

/** `item` with the given entries moved from pending to published; undefined when none of them is pending. */
export function markPublished(
  item: OrderStatusItem,
  entries: readonly BusEntry[],
  now: Date,
): OrderStatusItem | undefined {
  const finalIds = entries.filter((e) => e.detailType !== STATUS_CHANGED_DETAIL_TYPE).map((e) => e.detail.transitionId);
  const changed = new Set(
    entries.filter((e) => e.detailType === STATUS_CHANGED_DETAIL_TYPE).map((e) => e.detail.status),
  );
  const done = item.pendingPublications.filter((p) => finalIds.includes(p.transitionId));
  const pendingChanges = item.pendingStatusChanges ?? [];
  const remainingChanges = pendingChanges.filter((c) => !changed.has(c.status));
  if (done.length === 0 && remainingChanges.length === pendingChanges.length) return undefined;
  return {
    ...item,
    pendingPublications: item.pendingPublications.filter((p) => !finalIds.includes(p.transitionId)),
    pendingStatusChanges: remainingChanges,
    publishedTransitionIds: [...item.publishedTransitionIds, ...done.map((p) => p.transitionId)],
    version: item.version + 1,
    updatedAt: now.toISOString(),
  };
}

/**
 * Applies one order event: records it with an optimistic write (re-reading on conflict), then publishes any
 * pending transition whose order data is known. A failed publish throws `TransientError`; the event is then
 * already applied, and the retry of the record publishes the still-pending transition.
 */
export async function trackOrderEvent(event: OrderflowEvent, ports: OrderStatusPorts): Promise<TrackOutcome> {
  const maxAttempts = ports.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  for (let attempt = 1; ; attempt++) {
    const current = await ports.store.get(event.orderId);
    const next = applyOrderEvent(current, event, ports.clock());
    if (next === undefined) {
      // Only a stored item can already hold the event: this is a redelivery, possibly of a record whose
      // publication failed, so the outbox is still worth a look.
      const stored = current as OrderStatusItem;
      const published = await publishPending(stored, ports);
      return { applied: false, status: stored.status, previousStatus: stored.status, published };
    }
    try {
      await ports.store.put(next, current?.version);
    } catch (error) {
      if (error instanceof VersionConflictError && attempt < maxAttempts) continue;
      if (error instanceof VersionConflictError) {
        throw new TransientError(`order ${event.orderId} kept changing under ${maxAttempts} attempts`, {
          cause: error,
        });
      }
      throw error;
    }
    const published = await publishPending(next, ports);
    return {
      applied: true,
      status: next.status,
      ...(current ? { previousStatus: current.status } : {}),
      published,
    };
  }
}

/**
 * Puts the ready pending publications of `item` on the bus, then removes the ones the bus took from the outbox;
 * an entry it did not take stays pending and fails the call with `TransientError`, so the record is retried. If
 * removing keeps conflicting, the retry may publish again: subscribers dedupe on `transitionId`.
 */
export async function publishPending(item: OrderStatusItem, ports: OrderStatusPorts): Promise<BusEntry[]> {
  const ready = readyEntries(item);
  if (ready.length === 0) return [];
  const failures = await ports.bus.publish(ready);
  const rejected = new Set(failures.map((f) => f.entry));
  const accepted = ready.filter((e) => !rejected.has(e));
  const ids = accepted.map(entryName);
  const maxAttempts = ports.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  let current: OrderStatusItem | undefined = item;
  for (let attempt = 1; current !== undefined && accepted.length > 0; attempt++) {
    const next = markPublished(current, accepted, ports.clock());
    if (next === undefined) break;
    try {
      await ports.store.put(next, current.version);
      break;
    } catch (error) {
      if (!(error instanceof VersionConflictError)) throw error;
      if (attempt >= maxAttempts) {
        throw new TransientError(`published ${ids.join(', ')} but could not clear the outbox`, { cause: error });
      }
      current = await ports.store.get(item.orderId);
    }
  }
  if (failures.length > 0) throw publishError(failures);
  return accepted;
}

/**
 * Folds `events` (one order's, in delivery order) into `current` as `applyOrderEvent` does one at a time, for
 * one write: the same item as applying them one by one, with the version raised once. Undefined when every
 * event was applied before.
 */
export function foldOrderEvents(
  current: OrderStatusItem | undefined,
  events: readonly OrderflowEvent[],
  now: Date,
): OrderStatusItem | undefined {
  let item = current;
  let changed = false;
  for (const event of events) {
    const next = applyOrderEvent(item, event, now);
    if (next === undefined) continue;
    item = next;
    changed = true;
  }
  if (!changed || item === undefined) return undefined;
  return { ...item, version: (current?.version ?? 0) + 1 };
}

/** What `trackOrderBatch` did for one order of the batch. */
export interface OrderBatchOutcome {
  /** The order's events of the batch, in delivery order. */
  readonly events: readonly OrderflowEvent[];
  /** Ids of those events this call folded in (the others had been applied before). */
  readonly appliedEventIds: ReadonlySet<string>;
  /** Status before and after; undefined when the order could not be read. */
  readonly previousStatus?: OrderStatus;
  readonly status?: OrderStatus;
  /** Entries put on the bus for the order by this call. */
  readonly published: readonly BusEntry[];
  /**
   * Whether every event of the order in the batch is in its stored item: then an `error` is about the outbox
   * alone, and retrying one of its records is enough (the redelivery publishes what is still pending).
   */
  readonly recorded: boolean;
  /**
   * Why the order's records must be retried (a `TransientError`: the item kept changing, an entry was not taken,
   * a call failed) or handled one by one (any other error); absent when the order is done.
   */
  readonly error?: Error;
}

/**
 * `trackOrderEvent` for a whole batch, in as few calls as the APIs allow: the batch's orders read in one
 * `getMany`, each order's events folded into one write, the writes in one `putMany` (conditional on the versions
 * read; an order another writer moved is re-read, re-folded and written again, up to `maxAttempts`), every ready
 * entry of every order in one `publish`, and the outbox clearing of every order that published in one more
 * `putMany` (conditional too, so it never removes an entry another writer added). An order whose entry the bus
 * did not take keeps it pending and gets an error, so its records are retried. Never throws for one order's
 * failure: each outcome carries its own.
 */
export async function trackOrderBatch(
  events: readonly OrderflowEvent[],
  ports: OrderStatusPorts,
): Promise<Map<string, OrderBatchOutcome>> {
  const maxAttempts = ports.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const byOrder = new Map<string, OrderflowEvent[]>();
  for (const event of events) byOrder.set(event.orderId, [...(byOrder.get(event.orderId) ?? []), event]);
  const errors = new Map<string, Error>();
  const stored = await readOrders(ports.store, [...byOrder.keys()], errors);
  const keptChanging = (orderId: string, cause: Error) =>
    new TransientError(`order ${orderId} kept changing under ${maxAttempts} attempts`, { cause });
  const notCleared = (orderId: string, cause: Error) =>
    new TransientError(
      `published ${(published.get(orderId) ?? []).map(entryName).join(', ')} but could not clear the outbox`,
      { cause },
    );
  /** The item each order ends with in this call, once written (or found unchanged). */
  const latest = new Map<string, OrderStatusItem>();
  const previous = new Map<string, OrderStatus | undefined>();
  const applied = new Map<string, Set<string>>();

  // 1. One write per order, all the orders' writes together.
  let pending = [...byOrder.keys()].filter((orderId) => !errors.has(orderId));
  for (let attempt = 1; pending.length > 0; attempt++) {
    const writes: ItemWrite[] = [];
    for (const orderId of pending) {
      const current = stored.get(orderId);
      previous.set(orderId, current?.status);
      const next = foldOrderEvents(current, byOrder.get(orderId) ?? [], ports.clock());
      if (next === undefined) latest.set(orderId, current as OrderStatusItem);
      else writes.push({ item: next, expectedVersion: current?.version });
    }
    const results = await ports.store.putMany(writes);
    const conflicted = settleWrites(results, writes, attempt < maxAttempts, errors, keptChanging, (item) => {
      const before = new Set(stored.get(item.orderId)?.appliedEventIds ?? []);
      applied.set(item.orderId, new Set(item.appliedEventIds.filter((id) => !before.has(id))));
      latest.set(item.orderId, item);
    });
    if (conflicted.length === 0) break;
    for (const [orderId, item] of await readOrders(ports.store, conflicted, errors)) stored.set(orderId, item);
    pending = conflicted.filter((orderId) => !errors.has(orderId));
  }

  const recorded = new Set([...latest.keys()].filter((orderId) => !errors.has(orderId)));

  // 2. Every ready entry of the batch in one publish (PutEvents takes 10 a call).
  const ready = [...latest].flatMap(([orderId, item]) => (errors.has(orderId) ? [] : readyEntries(item)));
  const failures = ready.length > 0 ? await ports.bus.publish(ready) : [];
  const rejected = new Set(failures.map((f) => f.entry));
  const published = new Map<string, BusEntry[]>();
  for (const entry of ready) {
    if (rejected.has(entry)) continue;
    published.set(entry.detail.orderId, [...(published.get(entry.detail.orderId) ?? []), entry]);
  }

  // 3. The outbox cleared of what went out, all the orders' clearing writes together.
  let clearing = [...published.keys()];
  for (let attempt = 1; clearing.length > 0; attempt++) {
    const writes: ItemWrite[] = [];
    for (const orderId of clearing) {
      const current = latest.get(orderId);
      const next = current && markPublished(current, published.get(orderId) ?? [], ports.clock());
      if (current && next) writes.push({ item: next, expectedVersion: current.version });
    }
    const results = await ports.store.putMany(writes);
    const conflicted = settleWrites(results, writes, attempt < maxAttempts, errors, notCleared, (item) =>
      latest.set(item.orderId, item),
    );
    if (conflicted.length === 0) break;
    for (const [orderId, item] of await readOrders(ports.store, conflicted, errors)) {
      if (item) latest.set(orderId, item);
      else latest.delete(orderId);
    }
    clearing = conflicted.filter((orderId) => !errors.has(orderId));
  }
  const failedByOrder = new Map<string, PublishFailure[]>();
  for (const failure of failures) {
    const orderId = failure.entry.detail.orderId;
    failedByOrder.set(orderId, [...(failedByOrder.get(orderId) ?? []), failure]);
  }
  for (const [orderId, orderFailures] of failedByOrder) {
    if (!errors.has(orderId)) errors.set(orderId, publishError(orderFailures));
  }

  const outcomes = new Map<string, OrderBatchOutcome>();
  for (const [orderId, orderEvents] of byOrder) {
    const status = latest.get(orderId)?.status;
    const previousStatus = previous.get(orderId);
    const error = errors.get(orderId);
    outcomes.set(orderId, {
      events: orderEvents,
      appliedEventIds: applied.get(orderId) ?? new Set(),
      ...(previousStatus === undefined ? {} : { previousStatus }),
      ...(status === undefined ? {} : { status }),
      published: published.get(orderId) ?? [],
      recorded: recorded.has(orderId),
      ...(error === undefined ? {} : { error }),
    });
  }
  return outcomes;
}

/**
 * Sorts the results of one `putMany`: `onWritten` for each write done, the order ids to re-read for the
 * conflicts when `retry` allows; every other failure, and a conflict without a retry (`exhausted`), into `errors`.
 */
function settleWrites(
  failures: ReadonlyMap<string, Error>,
  writes: readonly ItemWrite[],
  retry: boolean,
  errors: Map<string, Error>,
  exhausted: (orderId: string, cause: Error) => Error,
  onWritten: (item: OrderStatusItem) => void,
): string[] {
  const conflicted: string[] = [];
  for (const { item } of writes) {
    const error = failures.get(item.orderId);
    if (error === undefined) onWritten(item);
    else if (!(error instanceof VersionConflictError)) errors.set(item.orderId, error);
    else if (retry) conflicted.push(item.orderId);
    else errors.set(item.orderId, exhausted(item.orderId, error));
  }
  return conflicted;
}

/**
 * The items of `orderIds`: one `getMany`, then a `get` for each order it left out (or all of them, when it
 * failed); an order that cannot be read at all gets its error in `errors`.
 */
async function readOrders(
  store: OrderStore,
  orderIds: readonly string[],
  errors: Map<string, Error>,
): Promise<Map<string, OrderStatusItem | undefined>> {
  let found = new Map<string, OrderStatusItem | undefined>();
  if (orderIds.length > 1) {
    try {
      found = await store.getMany(orderIds);
    } catch {
      // Read them one by one below; an order whose own read fails then carries that error.
    }
  }
  await Promise.all(
    orderIds
      .filter((orderId) => !found.has(orderId))
      .map(async (orderId) => {
        try {
          found.set(orderId, await store.get(orderId));
        } catch (error) {
          errors.set(orderId, error instanceof Error ? error : new Error(String(error)));
        }
      }),
  );
  return found;
}

/** The TransientError for entries the bus did not take: they stay pending and their records are retried. */
function publishError(failures: readonly PublishFailure[]): TransientError {
  const what = failures.map((f) => `${entryName(f.entry)} (${f.reason})`);
  return new TransientError(`could not publish ${what.join(', ')}`);
}

function entryName(entry: BusEntry): string {
  return `${entry.detailType} ${entry.detail.transitionId}`;
}

/** Order data (recipient, currency, items, total) from whichever event carries it; the first value seen stays. */
function mergeOrderData(
  item: OrderStatusItem,
  event: OrderflowEvent,
): Pick<OrderStatusItem, 'customerId' | 'email' | 'currency' | 'items' | 'totalCents' | 'correlationId'> {
  const carried: {
    customerId?: string;
    email?: string;
    currency?: string;
    items?: readonly OrderItem[];
    totalCents?: number;
  } = {};
  switch (event.type) {
    case 'OrderPlaced':
      Object.assign(carried, {
        customerId: event.customerId,
        email: event.email,
        currency: event.currency,
        items: event.items,
      });
      break;
    case 'OrderValidated':
      Object.assign(carried, {
        customerId: event.customerId,
        email: event.email,
        currency: event.currency,
        items: event.lines,
        totalCents: event.totalCents,
      });
      break;
    case 'OrderRejected':
      Object.assign(carried, { customerId: event.customerId, email: event.email });
      break;
    case 'PaymentProcessed':
    case 'PaymentFailed':
      Object.assign(carried, { currency: event.currency, totalCents: event.amountCents });
      break;
    default:
      break;
  }
  const items = item.items ?? carried.items?.map(({ sku, quantity }) => ({ sku, quantity }));
  return dropUndefined({
    customerId: item.customerId ?? carried.customerId,
    email: item.email ?? carried.email,
    currency: item.currency ?? carried.currency,
    items,
    totalCents: item.totalCents ?? carried.totalCents,
    correlationId: item.correlationId ?? event.correlationId,
  });
}

/** `facts` plus what `event` establishes; of two failures of a kind, the earlier one is kept. */
function withFact(facts: OrderFacts, event: OrderflowEvent): OrderFacts {
  const fact: Fact = { eventId: event.eventId, at: event.occurredAt };
  const first = <F extends Fact>(existing: F | undefined, candidate: F): F =>
    existing !== undefined && existing.at <= candidate.at ? existing : candidate;
  switch (event.type) {
    case 'OrderPlaced':
      return { ...facts, placed: first(facts.placed, fact) };
    case 'OrderValidated':
      return { ...facts, validated: first(facts.validated, fact) };
    case 'OrderRejected':
      return { ...facts, rejected: first(facts.rejected, { ...fact, reason: event.reason }) };
    case 'InventoryReserved':
      return { ...facts, inventoryReserved: first(facts.inventoryReserved, fact) };
    case 'InventoryRejected':
      return { ...facts, inventoryRejected: first(facts.inventoryRejected, { ...fact, reason: event.reason }) };
    case 'InventoryReleased':
      return { ...facts, inventoryReleased: first(facts.inventoryReleased, fact) };
    case 'PaymentProcessed':
      return { ...facts, paymentProcessed: first(facts.paymentProcessed, fact) };
    case 'PaymentFailed':
      return { ...facts, paymentFailed: first(facts.paymentFailed, { ...fact, reason: event.reason }) };
    case 'PaymentRefunded':
      return { ...facts, paymentRefunded: first(facts.paymentRefunded, fact) };
  }
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
