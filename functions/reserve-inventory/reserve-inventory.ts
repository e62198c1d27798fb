/**
 * reserve-inventory: takes stock for a validated order, all lines or none, and gives it back when the payment
 * fails. One reservation marker per order records the outcome, so a redelivered or late record changes nothing
 * and re-emits the very same event (the ids are derived from the order and the outcome).
 *
 * orders.validated and payment.events are separate topics, so a PaymentFailed can be processed before the
 * OrderValidated it refers to: the marker is then written CANCELLED first, and the order never takes stock.
 */
import { takeOnce } from '../../shared/batch-reads.js';
import { PermanentError, TransientError } from '../../shared/errors.js';
import type { EventOf, OrderflowEvent, OrderItem, PricedLine } from '../../shared/events.js';
import { derivedId } from '../../shared/ids.js';
import type { EventPublisher } from '../../shared/kafka.js';

/** Name used in derived event ids; changing it changes every id this function emits. */
export const CONSUMER = 'reserve-inventory';

/**
 * Most distinct SKUs one order may reserve: a DynamoDB transaction holds at most 100 items, one of them the
 * marker. order-api accepts at most 50 lines, so only a broken producer gets near it.
 */
export const MAX_RESERVATION_LINES = 99;

/** Lifecycle of an order's reservation. */
export type ReservationStatus = 'RESERVED' | 'REJECTED' | 'RELEASED' | 'CANCELLED';

/** What every reservation marker records. */
interface ReservationBase {
  readonly orderId: string;
  /** Correlation id of the event that created the marker; every re-emit carries it. */
  readonly correlationId: string;
  /** SKU quantities the order asked for (duplicates merged); empty when it was cancelled before it was seen. */
  readonly lines: readonly OrderItem[];
}

/** The `RESERVATION#<orderId>` marker; timestamps are epoch ms and become the re-emitted events' `occurredAt`. */
export type Reservation = ReservationBase &
  (
    | { readonly status: 'RESERVED'; readonly reservedAt: number }
    | {
        readonly status: 'RELEASED';
        readonly reservedAt: number;
        readonly releasedAt: number;
        readonly releaseReason: string;
      }
    | { readonly status: 'REJECTED'; readonly rejectedAt: number; readonly skus: readonly string[] }
    | { readonly status: 'CANCELLED'; readonly cancelledAt: number }
  );

/** Result of the all-or-nothing reservation. */
export type ReserveResult =
  | { readonly kind: 'RESERVED' }
  /** At least one SKU has too little stock (or no row at all); nothing was taken. */
  | { readonly kind: 'OUT_OF_STOCK'; readonly skus: readonly string[] }
  /** The order already has a marker (a duplicate or concurrent delivery); nothing was taken. */
  | { readonly kind: 'MARKER_EXISTS' };

/** The INVENTORY table as the logic needs it. */
export interface InventoryStore {
  /** The order's reservation marker, read consistently. */
  getReservation(orderId: string): Promise<Reservation | undefined>;
  /**
   * The markers of `orderIds`, read consistently in as few calls as the table allows: `undefined` for an order
   * without one. An order missing from the map (left unprocessed) is read by `getReservation` in its turn.
   */
  getReservations(orderIds: readonly string[]): Promise<Map<string, Reservation | undefined>>;
  /** Writes the RESERVED marker and takes every line's quantity, in one transaction. */
  reserve(reservation: Reservation & { readonly status: 'RESERVED' }): Promise<ReserveResult>;
  /** Writes a marker unless the order has one; `false` when it had. */
  createReservation(reservation: Reservation): Promise<boolean>;
  /** Marks a RESERVED marker RELEASED and puts its lines back, in one transaction; `false` when it was not RESERVED. */
  release(
    reservation: Reservation & { readonly status: 'RESERVED' },
    release: { readonly releasedAt: number; readonly reason: string },
  ): Promise<boolean>;
}

/** What the logic needs. */
export interface ReserveInventoryPorts {
  readonly store: InventoryStore;
  readonly publisher: EventPublisher;
  /** Epoch milliseconds. */
  readonly clock: () => number;
}

/** What handling one event did, for logs and tests. */
export interface InventoryOutcome {
  /** What the order's marker says now; `undefined` for ignored event types. */
  readonly status?: ReservationStatus;
  /** `false` when the event only re-emitted (or skipped) an outcome recorded earlier. */
  readonly changed: boolean;
  readonly published: readonly OrderflowEvent[];
}

/** How often a marker is re-read after a conditional write lost a race before giving up (and retrying later). */
const MAX_RACES = 3;

/**
 * Applies one event to the order's stock. OrderValidated reserves, PaymentFailed releases; anything else on the
 * consumed topics is not ours and is ignored.
 */
export async function handleInventoryEvent(
  event: OrderflowEvent,
  ports: ReserveInventoryPorts,
  context: { readonly traceparent?: string } = {},
): Promise<InventoryOutcome> {
  let outcome: InventoryOutcome;
  switch (event.type) {
    case 'OrderValidated':
      outcome = await reserveStock(event, ports);
      break;
    case 'PaymentFailed':
      outcome = await releaseStock(event, ports);
      break;
    default:
      return { changed: false, published: [] };
  }
  if (outcome.published.length > 0) await ports.publisher.publish(outcome.published, context);
  return outcome;
}

/**
 * `store` with the markers of a batch's orders read up front, in one `getReservations`, instead of one read per
 * record: each record's first read of its order is served from that read, any later read (a lost race, a second
 * record of the same order) from the table. Every write stays conditional on the marker, so acting on the
 * earlier read changes no outcome. A batch with nothing to reserve or release reads nothing.
 */
export async function prefetchReservations(
  store: InventoryStore,
  events: readonly OrderflowEvent[],
): Promise<InventoryStore> {
  const orderIds = events
    .filter((e) => e.type === 'OrderValidated' || e.type === 'PaymentFailed')
    .map((e) => e.orderId);
  if (orderIds.length === 0) return store;
  const snapshot = await store.getReservations(orderIds);
  return {
    getReservation: takeOnce(snapshot, (orderId) => store.getReservation(orderId)),
    getReservations: (ids) => store.getReservations(ids),
    reserve: (reservation) => store.reserve(reservation),
    createReservation: (reservation) => store.createReservation(reservation),
    release: (reservation, release) => store.release(reservation, release),
  };
}

/** Reserves every line of a validated order, or records why none was. */
export async function reserveStock(
  event: EventOf<'OrderValidated'>,
  ports: Pick<ReserveInventoryPorts, 'store' | 'clock'>,
): Promise<InventoryOutcome> {
  const existing = await ports.store.getReservation(event.orderId);
  if (existing) return replay(existing);

  const lines = mergeLines(event.lines);
  if (lines.length > MAX_RESERVATION_LINES) {
    throw new PermanentError(
      'PROCESSING_ERROR',
      `order has ${lines.length} distinct SKUs; one reservation holds at most ${MAX_RESERVATION_LINES}`,
    );
  }
  const base = { orderId: event.orderId, correlationId: event.correlationId, lines };
  const reserved = { ...base, status: 'RESERVED', reservedAt: ports.clock() } as const;
  const result = await ports.store.reserve(reserved);
  if (result.kind === 'RESERVED') return { status: 'RESERVED', changed: true, published: eventsOf(reserved) };
  if (result.kind === 'OUT_OF_STOCK') {
    const rejected: Reservation = {
      ...base,
      status: 'REJECTED',
      rejectedAt: ports.clock(),
      skus: [...result.skus].sort(),
    };
    if (await ports.store.createReservation(rejected)) {
      return { status: 'REJECTED', changed: true, published: eventsOf(rejected) };
    }
  }
  // Another delivery of this order (or a PaymentFailed) wrote the marker first: report what it decided.
  return replay(await reread(ports.store, event.orderId));
}

/** Gives back a reservation whose payment failed; remembers the failure when the order has not been seen yet. */
export async function releaseStock(
  event: EventOf<'PaymentFailed'>,
  ports: Pick<ReserveInventoryPorts, 'store' | 'clock'>,
): Promise<InventoryOutcome> {
  for (let race = 0; race < MAX_RACES; race += 1) {
    const marker = await ports.store.getReservation(event.orderId);
    if (marker === undefined) {
      const cancelled: Reservation = {
        orderId: event.orderId,
        correlationId: event.correlationId,
        lines: [],
        status: 'CANCELLED',
        cancelledAt: ports.clock(),
      };
      if (await ports.store.createReservation(cancelled)) return { status: 'CANCELLED', changed: true, published: [] };
      continue;
    }
    switch (marker.status) {
      case 'RESERVED': {
        const release = { releasedAt: ports.clock(), reason: event.reason };
        if (await ports.store.release(marker, release)) {
          const released: Reservation = {
            ...marker,
            status: 'RELEASED',
            releasedAt: release.releasedAt,
            releaseReason: release.reason,
          };
          return { status: 'RELEASED', changed: true, published: releasedEvents(released) };
        }
        continue;
      }
      case 'RELEASED':
        return { status: 'RELEASED', changed: false, published: releasedEvents(marker) };
      default:
        // REJECTED took nothing; CANCELLED means this failure was already recorded.
        return { status: marker.status, changed: false, published: [] };
    }
  }
  throw new TransientError(`reservation of order ${event.orderId} kept changing under a release`);
}

/** Sums the quantities of lines with the same SKU, keeping first-seen order. */
export function mergeLines(lines: readonly OrderItem[] | readonly PricedLine[]): OrderItem[] {
  const quantities = new Map<string, number>();
  for (const line of lines) quantities.set(line.sku, (quantities.get(line.sku) ?? 0) + line.quantity);
  return [...quantities].map(([sku, quantity]) => ({ sku, quantity }));
}

/** The event an OrderValidated led to, rebuilt from the marker so a redelivery re-emits it byte for byte. */
export function eventsOf(reservation: Reservation): OrderflowEvent[] {
  const base = (type: string, occurredAt: number) => ({
    eventId: derivedId(CONSUMER, reservation.orderId, type),
    orderId: reservation.orderId,
    occurredAt,
    correlationId: reservation.correlationId,
  });
  switch (reservation.status) {
    case 'RESERVED':
    case 'RELEASED':
      return [
        {
          type: 'InventoryReserved',
          ...base('InventoryReserved', reservation.reservedAt),
          lines: reservation.lines.map(({ sku, quantity }) => ({ sku, quantity })),
        },
      ];
    case 'REJECTED':
      return [
        {
          type: 'InventoryRejected',
          ...base('InventoryRejected', reservation.rejectedAt),
          reason: 'OUT_OF_STOCK',
          skus: [...reservation.skus],
        },
      ];
    case 'CANCELLED':
      return [];
  }
}

function releasedEvents(reservation: Reservation & { readonly status: 'RELEASED' }): OrderflowEvent[] {
  return [
    {
      type: 'InventoryReleased',
      eventId: derivedId(CONSUMER, reservation.orderId, 'InventoryReleased'),
      orderId: reservation.orderId,
      occurredAt: reservation.releasedAt,
      correlationId: reservation.correlationId,
      lines: reservation.lines.map(({ sku, quantity }) => ({ sku, quantity })),
      reason: reservation.releaseReason,
    },
  ];
}

function replay(marker: Reservation): InventoryOutcome {
  return { status: marker.status, changed: false, published: eventsOf(marker) };
}

async function reread(store: InventoryStore, orderId: string): Promise<Reservation> {
  const marker = await store.getReservation(orderId);
  // A conditional write failed on the marker, so it exists; not seeing it means a stale read: retry later.
  if (marker === undefined) throw new TransientError(`reservation of order ${orderId} exists but could not be read`);
  return marker;
}
