/**
 * The order API's logic: place a validated order by publishing OrderPlaced and resolving only once the broker
 * acknowledged it; read an order's status. It knows neither HTTP (`order-api-routes.ts`) nor Lambda: everything it
 * uses, logging included, is an injected port, so the same code runs in Lambda, behind the local dev server and in
 * jest.
 */
import { abandonedOnAbort } from '../../shared/abort.js';
import { OrderflowError, TransientError } from '../../shared/errors.js';
import { CURRENCIES, type EventOf } from '../../shared/events.js';
import { derivedId } from '../../shared/ids.js';
import type { EventPublisher } from '../../shared/kafka.js';
import * as z from '../../shared/zod.js';

/**
 * Milliseconds of the invocation kept back from publishing (a fifth of what is left, when that is under 5 s): time
 * to release the `Idempotency-Key` and answer 503 before the function itself times out.
 */
export const PUBLISH_MARGIN_MS = 1_000;

/** Body of `POST /orders`; unknown properties are dropped, not rejected, so older clients keep working. */
export const placeOrderRequest = z.object({
  customerId: z.string().check(z.trim(), z.minLength(1), z.maxLength(128)),
  email: z.email().check(z.maxLength(254)),
  currency: z.enum(CURRENCIES),
  items: z
    .array(
      z.object({
        sku: z.string().check(z.trim(), z.minLength(1), z.maxLength(64)),
        quantity: z.int().check(z.minimum(1), z.maximum(100)),
      }),
    )
    .check(z.minLength(1), z.maxLength(50)),
  paymentToken: z.optional(z.string().check(z.minLength(1), z.maxLength(512))),
});

/** A validated `POST /orders` body. */
export type PlaceOrderRequest = z.infer<typeof placeOrderRequest>;

/** Answer to `POST /orders`: the order exists on `orders.raw`; its status moves on asynchronously. */
export interface PlacedOrder {
  readonly orderId: string;
  readonly status: 'PLACED';
}

/** Epoch-milliseconds time source. */
export interface Clock {
  now(): number;
}

/** Source of fresh ids (orders without an `Idempotency-Key`, correlation ids). */
export interface IdSource {
  newId(): string;
}

/** Where the logic says what it did; Powertools' `Logger` is one. Attributes never hold the customer's email. */
export interface OrderLog {
  info(message: string, attributes: Record<string, unknown>): void;
}

/** Reads a row of the order-status table; `undefined` when there is none. */
export interface OrderReader {
  get(orderId: string): Promise<Record<string, unknown> | undefined>;
}

/** Identity of a keyed request: the same customer retrying with the same `Idempotency-Key`. */
export interface IdempotentRequest {
  readonly customerId: string;
  readonly idempotencyKey: string;
  /** The validated body; a retry must carry the same one. */
  readonly order: PlaceOrderRequest;
}

/**
 * Runs `place` at most once per (customerId, idempotencyKey) and returns its first result to every retry. Throws
 * `IdempotencyConflictError` for a reused key with another body, `RequestInProgressError` while the first attempt
 * still runs, and `TransientError` when the idempotency store fails.
 */
export interface IdempotencyGuard {
  once(request: IdempotentRequest, place: () => Promise<PlacedOrder>): Promise<PlacedOrder>;
}

/** An `Idempotency-Key` was reused with a different request body. */
export class IdempotencyConflictError extends OrderflowError {}

/** A request with the same `Idempotency-Key` is still being processed. */
export class RequestInProgressError extends OrderflowError {}

/** What placing an order needs. */
export interface PlaceOrderPorts {
  /** Resolves only once the broker acknowledged the record (acks from all in-sync replicas). */
  readonly publisher: EventPublisher;
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly log: OrderLog;
}

/** Everything the order API's logic needs. */
export interface OrderApiPorts extends PlaceOrderPorts {
  readonly orders: OrderReader;
  readonly idempotency: IdempotencyGuard;
}

/** A new order, with the request context it came with. */
export interface PlaceOrderCommand {
  readonly order: PlaceOrderRequest;
  readonly correlationId: string;
  /** `Idempotency-Key` header, when the client sent one. */
  readonly idempotencyKey?: string;
  /** W3C traceparent of the request, propagated onto the Kafka record. */
  readonly traceparent?: string;
  /**
   * Milliseconds left before the invocation times out; publishing is given up once `publishBudgetMs` of them passed.
   *
   * @default - no deadline: publishing waits for the publisher
   */
  readonly remainingTimeMs?: () => number;
}

/** `GET /orders/{orderId}` body: the order-status row without its bookkeeping (nor the customer's PII). */
export interface OrderView {
  readonly orderId: string;
  readonly status: string;
  /** Absent only if order-status has not seen OrderPlaced yet (events of one order can be read out of order). */
  readonly currency?: string;
  readonly items?: readonly { sku: string; quantity: number }[];
  /** Absent until validate-order priced the order. */
  readonly totalCents?: number;
  /** Why the order was rejected or cancelled. */
  readonly reason?: string;
  readonly history: readonly { status: string; at: string }[];
}

/** Producer name mixed into derived ids, so another producer deriving from the same parts gets other ids. */
const PRODUCER = 'order-api';

/**
 * The id of an order: derived from (customerId, Idempotency-Key) when the client sent a key, so a retry whose
 * idempotency record was lost still names the same order; fresh otherwise.
 */
export function orderIdFor(customerId: string, idempotencyKey: string | undefined, ids: IdSource): string {
  return idempotencyKey === undefined ? ids.newId() : derivedId(PRODUCER, customerId, idempotencyKey);
}

/** The OrderPlaced event of a command; its eventId follows from the orderId, so a re-publish is deduplicated. */
export function orderPlacedEvent(command: PlaceOrderCommand, orderId: string, now: number): EventOf<'OrderPlaced'> {
  const { order } = command;
  return {
    type: 'OrderPlaced',
    eventId: derivedId(PRODUCER, orderId, 'OrderPlaced'),
    orderId,
    occurredAt: now,
    correlationId: command.correlationId,
    customerId: order.customerId,
    email: order.email,
    currency: order.currency,
    items: order.items.map(({ sku, quantity }) => ({ sku, quantity })),
    paymentToken: order.paymentToken ?? null,
  };
}

/** How long publishing may take when `remainingMs` are left in the invocation: all but `PUBLISH_MARGIN_MS`. */
export function publishBudgetMs(remainingMs: number): number {
  return Math.max(0, Math.floor(remainingMs - Math.min(PUBLISH_MARGIN_MS, remainingMs / 5)));
}

/**
 * Publishes OrderPlaced and resolves once the broker acknowledged it. Throws `TransientError` when it could not
 * be published, or not within `publishBudgetMs` of the remaining time: then the client may retry. A publish given
 * up on may still complete a moment later; with an `Idempotency-Key` the retry names the same order and event, so
 * consumers deduplicate it, without one the retry is a new order.
 */
export async function placeOrder(command: PlaceOrderCommand, ports: PlaceOrderPorts): Promise<PlacedOrder> {
  const orderId = orderIdFor(command.order.customerId, command.idempotencyKey, ports.ids);
  const event = orderPlacedEvent(command, orderId, ports.clock.now());
  const budgetMs = command.remainingTimeMs ? publishBudgetMs(command.remainingTimeMs()) : undefined;
  if (budgetMs === 0) throw new TransientError(`no time left to publish OrderPlaced for order ${orderId}`);
  const signal = budgetMs === undefined ? undefined : AbortSignal.timeout(budgetMs);
  try {
    const trace = command.traceparent ? { traceparent: command.traceparent } : {};
    // The publisher is told to give up too, but the answer must not depend on it honouring the signal.
    await abandonedOnAbort(ports.publisher.publish([event], trace, signal ? { signal } : {}), signal);
  } catch (error) {
    const what = signal?.aborted ? `took longer than ${budgetMs} ms` : 'failed';
    throw new TransientError(`publishing OrderPlaced for order ${orderId} ${what}`, { cause: error });
  }
  ports.log.info('order placed', {
    orderId,
    correlationId: command.correlationId,
    customerId: command.order.customerId,
    items: command.order.items.length,
  });
  return { orderId, status: 'PLACED' };
}

/** Row attributes `GET` returns; everything else in the row is order-status bookkeeping. */
const orderRow = z.object({
  orderId: z.string(),
  status: z.string(),
  currency: z.optional(z.string()),
  items: z.optional(z.array(z.object({ sku: z.string(), quantity: z.number() }))),
  totalCents: z.optional(z.number()),
  reason: z.optional(z.string()),
  history: z._default(z.array(z.object({ status: z.string(), at: z.string() })), []),
});

/** Attributes of the order-status row the API reads (a projection, so bookkeeping never leaves the table). */
export const ORDER_VIEW_ATTRIBUTES = ['orderId', 'status', 'currency', 'items', 'totalCents', 'reason', 'history'];

/** Order ids are UUIDs (random or derived); anything else cannot name an order and is not looked up. */
const ORDER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The order's current status, or `undefined` when there is no such order. order-status writes the row
 * asynchronously from `orders.raw`, so right after a 202 the row may not exist yet and this returns `undefined`
 * (404) for a moment: clients poll.
 */
export async function getOrder(orderId: string, orders: OrderReader): Promise<OrderView | undefined> {
  if (!ORDER_ID.test(orderId)) return undefined;
  const row = await orders.get(orderId);
  if (!row) return undefined;
  const parsed = orderRow.safeParse(row);
  if (!parsed.success) {
    throw new OrderflowError(`order-status row of ${orderId} is malformed: ${z.prettifyError(parsed.error)}`);
  }
  const { history, items, ...rest } = parsed.data;
  return {
    ...rest,
    ...(items ? { items: items.map(({ sku, quantity }) => ({ sku, quantity })) } : {}),
    history: history.map(({ status, at }) => ({ status, at })),
  };
}
