/**
 * process-payment: charges a validated order once, and refunds the charge when the stock check failed. One
 * payment record per order holds the state, so a redelivered or late record changes nothing and re-emits the
 * very same events (ids derived from the order and the outcome, times taken from the record).
 *
 * orders.validated and inventory.events are separate topics, so an InventoryRejected can be processed before
 * (or while) the OrderValidated it refers to is charged:
 * - before: the record is written CANCELLED, and a later OrderValidated charges nothing;
 * - while: the charge lands after the CANCELLED record. The charge is then recorded over it (CANCELLED ->
 *   CHARGED, keeping the refund reason, so the refund that is owed survives a crash) and refunded at once.
 * The charge itself carries the order id as idempotency key, so a crash between charging and recording the
 * charge cannot charge twice at a real gateway.
 */
import { takeOnce } from '../../shared/batch-reads.js';
import { TransientError } from '../../shared/errors.js';
import type { EventOf, OrderflowEvent } from '../../shared/events.js';
import { derivedId } from '../../shared/ids.js';
import type { EventPublisher } from '../../shared/kafka.js';
import { PaymentDeclinedError, type PaymentGateway } from './payment-gateway.js';

/** Name used in derived event ids; changing it changes every id this function emits. */
export const CONSUMER = 'process-payment';

/** Lifecycle of an order's payment. */
export type PaymentStatus = 'CHARGED' | 'FAILED' | 'REFUNDED' | 'CANCELLED';

/** What every payment record holds. */
interface PaymentBase {
  readonly orderId: string;
  /** Correlation id of the event that created the record; every re-emit carries it. */
  readonly correlationId: string;
}

/** A charge that went through. */
export interface Charge {
  readonly paymentId: string;
  readonly amountCents: number;
  readonly currency: string;
  /** Epoch ms; the PaymentProcessed `occurredAt`. */
  readonly chargedAt: number;
}

/** The `PAYMENT#<orderId>` record; timestamps are epoch ms and become the re-emitted events' `occurredAt`. */
export type PaymentRecord = PaymentBase &
  /** `refundReason` set: the order was cancelled while this charge was taken, so its refund is owed. */
  (
    | ({ readonly status: 'CHARGED'; readonly refundReason?: string } & Charge)
    | ({ readonly status: 'REFUNDED'; readonly refundReason: string; readonly refundedAt: number } & Charge)
    | { readonly status: 'FAILED'; readonly amountCents: number; readonly currency: string; readonly failedAt: number }
    | { readonly status: 'CANCELLED'; readonly refundReason: string; readonly cancelledAt: number }
  );

/** The PAYMENTS table as the logic needs it. Each write is conditional and says whether it happened. */
export interface PaymentStore {
  /** The order's payment record, read consistently. */
  get(orderId: string): Promise<PaymentRecord | undefined>;
  /**
   * The records of `orderIds`, read consistently in as few calls as the table allows: `undefined` for an order
   * without one. An order missing from the map (left unprocessed) is read by `get` in its turn.
   */
  getMany(orderIds: readonly string[]): Promise<Map<string, PaymentRecord | undefined>>;
  /** Writes the record unless the order has one; `false` when it had. */
  create(record: PaymentRecord): Promise<boolean>;
  /** Records a charge over a CANCELLED record, keeping its refund reason; `false` when it was not CANCELLED. */
  chargeCancelled(orderId: string, charge: Charge): Promise<boolean>;
  /** Marks a CHARGED record REFUNDED; `false` when it was not CHARGED. */
  markRefunded(orderId: string, refund: { readonly refundedAt: number; readonly reason: string }): Promise<boolean>;
}

/** What the logic needs. */
export interface ProcessPaymentPorts {
  readonly store: PaymentStore;
  readonly gateway: PaymentGateway;
  readonly publisher: EventPublisher;
  /** Epoch milliseconds. */
  readonly clock: () => number;
}

/** What handling one event did, for logs and tests. */
export interface PaymentOutcome {
  /** What the order's payment record says now; `undefined` for ignored event types. */
  readonly status?: PaymentStatus;
  /** `false` when the event only re-emitted (or skipped) what was recorded earlier. */
  readonly changed: boolean;
  readonly published: readonly OrderflowEvent[];
}

/** How often a record is re-read after a conditional write lost a race before giving up (and retrying later). */
const MAX_RACES = 3;

/**
 * Applies one event to the order's payment. OrderValidated charges, InventoryRejected refunds; anything else on
 * the consumed topics is not ours and is ignored. A `GatewayUnavailableError` propagates so the record is retried.
 */
export async function handlePaymentEvent(
  event: OrderflowEvent,
  ports: ProcessPaymentPorts,
  context: { readonly traceparent?: string } = {},
): Promise<PaymentOutcome> {
  let outcome: PaymentOutcome;
  switch (event.type) {
    case 'OrderValidated':
      outcome = await chargeOrder(event, ports);
      break;
    case 'InventoryRejected':
      outcome = await refundOrder(event, ports);
      break;
    default:
      return { changed: false, published: [] };
  }
  if (outcome.published.length > 0) await ports.publisher.publish(outcome.published, context);
  return outcome;
}

/**
 * `store` with the records of a batch's orders read up front, in one `getMany`, instead of one read per record:
 * each record's first read of its order is served from that read, any later read (a lost race, a second record of
 * the same order) from the table, so a duplicate in the batch sees the first one's charge and charges nothing.
 * Every write stays conditional on the record, so acting on the earlier read changes no outcome. A batch with
 * nothing to charge or refund reads nothing.
 */
export async function prefetchPayments(store: PaymentStore, events: readonly OrderflowEvent[]): Promise<PaymentStore> {
  const orderIds = events
    .filter((e) => e.type === 'OrderValidated' || e.type === 'InventoryRejected')
    .map((e) => e.orderId);
  if (orderIds.length === 0) return store;
  const snapshot = await store.getMany(orderIds);
  return {
    get: takeOnce(snapshot, (orderId) => store.get(orderId)),
    getMany: (ids) => store.getMany(ids),
    create: (record) => store.create(record),
    chargeCancelled: (orderId, charge) => store.chargeCancelled(orderId, charge),
    markRefunded: (orderId, refund) => store.markRefunded(orderId, refund),
  };
}

/** Charges a validated order unless its payment was decided (or cancelled) already. */
export async function chargeOrder(
  event: EventOf<'OrderValidated'>,
  ports: Omit<ProcessPaymentPorts, 'publisher'>,
): Promise<PaymentOutcome> {
  const { store, gateway, clock } = ports;
  const existing = await store.get(event.orderId);
  if (existing) return settle(existing, ports);

  const base = { orderId: event.orderId, correlationId: event.correlationId };
  const amount = { amountCents: event.totalCents, currency: event.currency };
  let paymentId: string;
  try {
    ({ paymentId } = await gateway.charge({
      orderId: event.orderId,
      ...amount,
      token: event.paymentToken,
      idempotencyKey: event.orderId,
    }));
  } catch (error) {
    if (!(error instanceof PaymentDeclinedError)) throw error;
    const failed: PaymentRecord = { ...base, status: 'FAILED', ...amount, failedAt: clock() };
    if (await store.create(failed)) return { status: 'FAILED', changed: true, published: chargeEvents(failed) };
    return settle(await reread(store, event.orderId), ports);
  }

  const charge: Charge = { paymentId, ...amount, chargedAt: clock() };
  const charged: PaymentRecord = { ...base, status: 'CHARGED', ...charge };
  if (await store.create(charged)) return { status: 'CHARGED', changed: true, published: chargeEvents(charged) };

  const current = await reread(store, event.orderId);
  if (current.status === 'CANCELLED' && (await store.chargeCancelled(event.orderId, charge))) {
    const owed: PaymentRecord = { ...current, status: 'CHARGED', ...charge };
    const refund = await refundCharge(owed, current.refundReason, ports);
    return { status: refund.status, changed: true, published: [...chargeEvents(owed), ...refund.published] };
  }
  // A duplicate delivery recorded the same charge (same idempotency key) first, or the record moved on again.
  return settle(current.status === 'CANCELLED' ? await reread(store, event.orderId) : current, ports);
}

/** Refunds the order's charge when its stock was rejected; remembers the rejection when nothing was charged yet. */
export async function refundOrder(
  event: EventOf<'InventoryRejected'>,
  ports: Omit<ProcessPaymentPorts, 'publisher'>,
): Promise<PaymentOutcome> {
  for (let race = 0; race < MAX_RACES; race += 1) {
    const record = await ports.store.get(event.orderId);
    if (record === undefined) {
      const cancelled: PaymentRecord = {
        orderId: event.orderId,
        correlationId: event.correlationId,
        status: 'CANCELLED',
        refundReason: event.reason,
        cancelledAt: ports.clock(),
      };
      if (await ports.store.create(cancelled)) return { status: 'CANCELLED', changed: true, published: [] };
      continue;
    }
    switch (record.status) {
      case 'CHARGED':
        return refundCharge(record, record.refundReason ?? event.reason, ports);
      case 'REFUNDED':
        return { status: 'REFUNDED', changed: false, published: refundEvents(record) };
      default:
        // FAILED charged nothing; CANCELLED means this rejection was already recorded.
        return { status: record.status, changed: false, published: [] };
    }
  }
  throw new TransientError(`payment of order ${event.orderId} kept changing under a refund`);
}

/** The events an OrderValidated led to, rebuilt from the record so a redelivery re-emits them byte for byte. */
export function chargeEvents(record: PaymentRecord): OrderflowEvent[] {
  switch (record.status) {
    case 'CHARGED':
    case 'REFUNDED':
      return [
        {
          type: 'PaymentProcessed',
          ...eventBase(record, 'PaymentProcessed', record.chargedAt),
          paymentId: record.paymentId,
        },
      ];
    case 'FAILED':
      return [
        {
          type: 'PaymentFailed',
          ...eventBase(record, 'PaymentFailed', record.failedAt),
          reason: 'PAYMENT_DECLINED',
        },
      ];
    case 'CANCELLED':
      return [];
  }
}

/** The PaymentRefunded of a refunded record. */
export function refundEvents(record: PaymentRecord & { readonly status: 'REFUNDED' }): OrderflowEvent[] {
  return [
    {
      type: 'PaymentRefunded',
      ...eventBase(record, 'PaymentRefunded', record.refundedAt),
      paymentId: record.paymentId,
      reason: record.refundReason,
    },
  ];
}

/** A redelivered OrderValidated: re-emit what was decided, and finish a refund that is still owed. */
async function settle(record: PaymentRecord, ports: Omit<ProcessPaymentPorts, 'publisher'>): Promise<PaymentOutcome> {
  switch (record.status) {
    case 'CHARGED': {
      if (record.refundReason === undefined)
        return { status: 'CHARGED', changed: false, published: chargeEvents(record) };
      const refund = await refundCharge(record, record.refundReason, ports);
      return { ...refund, published: [...chargeEvents(record), ...refund.published] };
    }
    case 'REFUNDED':
      // The refund may have been recorded by this order's own late-charge path just before a crash: re-emit it too.
      return { status: 'REFUNDED', changed: false, published: [...chargeEvents(record), ...refundEvents(record)] };
    default:
      return { status: record.status, changed: false, published: chargeEvents(record) };
  }
}

async function refundCharge(
  record: PaymentRecord & { readonly status: 'CHARGED' },
  reason: string,
  ports: Omit<ProcessPaymentPorts, 'publisher'>,
): Promise<PaymentOutcome> {
  await ports.gateway.refund({
    paymentId: record.paymentId,
    amountCents: record.amountCents,
    currency: record.currency,
    idempotencyKey: `${record.orderId}#refund`,
  });
  const refundedAt = ports.clock();
  if (await ports.store.markRefunded(record.orderId, { refundedAt, reason })) {
    const refunded: PaymentRecord = { ...record, status: 'REFUNDED', refundReason: reason, refundedAt };
    return { status: 'REFUNDED', changed: true, published: refundEvents(refunded) };
  }
  // A concurrent delivery refunded first (the gateway's idempotency key made both one refund).
  const current = await reread(ports.store, record.orderId);
  if (current.status !== 'REFUNDED') {
    throw new TransientError(`payment of order ${record.orderId} is ${current.status}, expected REFUNDED`);
  }
  return { status: 'REFUNDED', changed: false, published: refundEvents(current) };
}

/** What every event of a payment record carries: the ids derived from its order, its time and its amount. */
function eventBase(
  record: PaymentBase & { readonly amountCents: number; readonly currency: string },
  type: string,
  occurredAt: number,
) {
  return {
    eventId: derivedId(CONSUMER, record.orderId, type),
    orderId: record.orderId,
    occurredAt,
    correlationId: record.correlationId,
    amountCents: record.amountCents,
    currency: record.currency,
  };
}

async function reread(store: PaymentStore, orderId: string): Promise<PaymentRecord> {
  const record = await store.get(orderId);
  // A conditional write failed on the record, so it exists; not seeing it means a stale read: retry later.
  if (record === undefined) throw new TransientError(`payment of order ${orderId} exists but could not be read`);
  return record;
}
