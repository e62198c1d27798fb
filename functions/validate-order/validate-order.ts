/**
 * validate-order logic: an OrderPlaced is priced from the catalog and becomes OrderValidated, or OrderRejected
 * when the customer is blocked or a SKU is unknown. Prices come from the catalog only, never from the client.
 */
import type { EncodeContext } from '../../shared/codec.js';
import { ValidationError } from '../../shared/errors.js';
import {
  CURRENCIES,
  type Currency,
  type EventOf,
  type OrderflowEvent,
  type OrderItem,
  type PricedLine,
} from '../../shared/events.js';
import { derivedId } from '../../shared/ids.js';
import type { EventPublisher } from '../../shared/kafka.js';
import type { FunctionName } from '../../shared/topology.js';

/** Consumer name that derived event ids are scoped by; renaming it would change every emitted eventId. */
export const CONSUMER: FunctionName = 'validate-order';

/** The product catalog and the customer block list (CATALOG table). */
export interface Catalog {
  /** Unit prices in cents of `skus` in `currency`; a SKU missing from the map is unknown in that currency. */
  pricesFor(skus: readonly string[], currency: Currency): Promise<ReadonlyMap<string, number>>;
  /** Whether orders of `customerId` must be rejected. */
  isBlocked(customerId: string): Promise<boolean>;
  /**
   * This catalog with `skus` (in every currency) and `customers` read up front in as few calls as it can: the
   * returned catalog answers for them without another read, and reads anything else as this one does.
   * Absent from a catalog with nothing to save (in memory): the batch then uses this catalog as it is.
   */
  preload?(skus: readonly string[], customerIds: readonly string[]): Promise<Catalog>;
}

/** The SKUs and customers the OrderPlaced events of a batch will look up, each once. */
export function catalogKeysOf(events: readonly OrderflowEvent[]): { skus: string[]; customerIds: string[] } {
  const skus = new Set<string>();
  const customerIds = new Set<string>();
  for (const event of events) {
    if (event.type !== 'OrderPlaced') continue;
    customerIds.add(event.customerId);
    for (const item of event.items) skus.add(item.sku);
  }
  return { skus: [...skus], customerIds: [...customerIds] };
}

/** What `validateOrder` needs from the outside world. */
export interface ValidateOrderPorts {
  readonly catalog: Catalog;
  readonly publisher: EventPublisher;
  /** Epoch milliseconds; stamps `occurredAt` and `validatedAt`. */
  readonly clock: () => number;
}

/** What became of one consumed event. */
export type ValidateOrderOutcome =
  | { readonly outcome: 'IGNORED'; readonly type: OrderflowEvent['type'] }
  | { readonly outcome: 'OrderValidated'; readonly event: EventOf<'OrderValidated'> }
  | { readonly outcome: 'OrderRejected'; readonly event: EventOf<'OrderRejected'> };

/**
 * Validates one consumed event and publishes the result. Only OrderPlaced is handled; any other type is ignored.
 * Throws `ValidationError` for content no retry can fix; catalog or broker failures propagate to be retried.
 */
export async function validateOrder(
  event: OrderflowEvent,
  ports: ValidateOrderPorts,
  context: EncodeContext = {},
): Promise<ValidateOrderOutcome> {
  if (event.type !== 'OrderPlaced') return { outcome: 'IGNORED', type: event.type };
  const result = await decide(event, ports);
  await ports.publisher.publish([result.event], context);
  return result;
}

/** The outcome of an OrderPlaced, without publishing it. */
export async function decide(
  order: EventOf<'OrderPlaced'>,
  ports: Pick<ValidateOrderPorts, 'catalog' | 'clock'>,
): Promise<Exclude<ValidateOrderOutcome, { outcome: 'IGNORED' }>> {
  const currency = checkOrder(order);
  const now = ports.clock();

  if (await ports.catalog.isBlocked(order.customerId)) {
    return rejected(order, now, 'CUSTOMER_BLOCKED', `customer ${order.customerId} is blocked`);
  }

  const skus = distinctSkus(order.items);
  const prices = await ports.catalog.pricesFor(skus, currency);
  const unknown: string[] = [];
  for (const sku of skus) if (!prices.has(sku)) unknown.push(sku);
  if (unknown.length > 0) {
    const detail = `unknown SKU${unknown.length > 1 ? 's' : ''} in ${currency}: ${unknown.join(', ')}`;
    return rejected(order, now, 'UNKNOWN_SKU', detail);
  }

  // Plain loops, not map/reduce callbacks: this runs once per record of every batch.
  const lines: PricedLine[] = [];
  let totalCents = 0;
  for (const { sku, quantity } of order.items) {
    const unitPriceCents = prices.get(sku) ?? 0;
    const lineTotalCents = unitPriceCents * quantity;
    lines.push({ sku, quantity, unitPriceCents, lineTotalCents });
    totalCents += lineTotalCents;
  }
  if (!Number.isSafeInteger(totalCents)) {
    throw new ValidationError(`order ${order.orderId}: total of ${totalCents} cents is not a safe integer`);
  }
  return {
    outcome: 'OrderValidated',
    event: {
      type: 'OrderValidated',
      eventId: derivedEventId(order, 'OrderValidated'),
      orderId: order.orderId,
      occurredAt: now,
      correlationId: order.correlationId,
      customerId: order.customerId,
      email: order.email,
      currency,
      lines,
      totalCents,
      status: 'PENDING',
      validatedAt: now,
      paymentToken: order.paymentToken,
    },
  };
}

/** The OrderRejected outcome of `order`. */
function rejected(
  order: EventOf<'OrderPlaced'>,
  now: number,
  reason: EventOf<'OrderRejected'>['reason'],
  detail: string,
): Extract<ValidateOrderOutcome, { outcome: 'OrderRejected' }> {
  return {
    outcome: 'OrderRejected',
    event: {
      type: 'OrderRejected',
      eventId: derivedEventId(order, 'OrderRejected'),
      orderId: order.orderId,
      occurredAt: now,
      correlationId: order.correlationId,
      customerId: order.customerId,
      email: order.email,
      reason,
      detail,
    },
  };
}

/** Derived from the source event: a redelivered OrderPlaced re-emits the same eventId, so consumers dedupe it. */
function derivedEventId(order: EventOf<'OrderPlaced'>, type: 'OrderValidated' | 'OrderRejected'): string {
  return derivedId(CONSUMER, order.eventId, type);
}

/** The SKUs of `items`, each once, in order of first appearance. */
function distinctSkus(items: EventOf<'OrderPlaced'>['items']): string[] {
  const skus = new Set<string>();
  for (const { sku } of items) skus.add(sku);
  return [...skus];
}

/** Rejects content that no catalog lookup or retry can make valid; returns the order's currency. */
function checkOrder(order: EventOf<'OrderPlaced'>): Currency {
  const problems: string[] = [];
  if (!isCurrency(order.currency))
    problems.push(`currency ${JSON.stringify(order.currency)} is not one of ${CURRENCIES}`);
  if (order.customerId.trim() === '') problems.push('customerId is empty');
  if (order.items.length === 0) problems.push('order has no items');
  for (let i = 0; i < order.items.length; i += 1) {
    const item = order.items[i] as OrderItem;
    if (item.sku.trim() === '') problems.push(`items[${i}].sku is empty`);
    if (!Number.isInteger(item.quantity) || item.quantity <= 0) {
      problems.push(`items[${i}].quantity must be a positive integer, got ${item.quantity}`);
    }
  }
  if (problems.length > 0) throw new ValidationError(`order ${order.orderId} is invalid: ${problems.join('; ')}`);
  return order.currency as Currency;
}

function isCurrency(value: string): value is Currency {
  return (CURRENCIES as readonly string[]).includes(value);
}
