/**
 * The live order-updates protocol, identical on AWS (API Gateway WebSocket API) and locally
 * (`ws://127.0.0.1:3000/live` served by `npm run dev`). Both sides of every connection import this module: the
 * route handlers and the notifier to parse and build messages, the typed client to speak it.
 *
 * Client → server (one JSON object per message, at most `MAX_CLIENT_MESSAGE_BYTES`):
 * - `{"action":"subscribe","orderId":"<id>"}` — every status change of that order, starting with its current status;
 * - `{"action":"subscribe","orderId":"*"}` — every status change of every order (no current status first);
 * - `{"action":"unsubscribe","orderId":"<id>" | "*"}`.
 *
 * Server → client:
 * - `{"type":"order.status","orderId","status","reason"?,"at"}` — one per transition (and the current status first);
 * - `{"type":"subscribed"|"unsubscribed","orderId"}` — the request took effect;
 * - `{"type":"error","code","message"}` — the message was refused; the connection stays open.
 */
import * as z from './zod.js';

/** The subscription to every order's changes. */
export const ALL_ORDERS = '*';

/** Largest client message accepted, in bytes (UTF-8); API Gateway itself refuses frames over 32 KiB. */
export const MAX_CLIENT_MESSAGE_BYTES = 1024;

/** Most subscriptions one connection may hold (each is an item the notifier reads). */
export const MAX_SUBSCRIPTIONS_PER_CONNECTION = 50;

/** Statuses an order moves through, as `GET /orders/{id}` shows them. */
export const ORDER_STATUSES = ['PLACED', 'VALIDATED', 'CONFIRMED', 'CANCELLED', 'REJECTED'] as const;

/** Status of an order. */
export type LiveOrderStatus = (typeof ORDER_STATUSES)[number];

/** An order id as order-api issues them, or `*`; bounded so a subscription key stays small. */
const subscriptionTarget = z.union([z.literal(ALL_ORDERS), z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/))]);

/** A message a client sends. */
export const clientMessage = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('subscribe'), orderId: subscriptionTarget }),
  z.strictObject({ action: z.literal('unsubscribe'), orderId: subscriptionTarget }),
]);

/** A parsed client message. */
export type ClientMessage = z.infer<typeof clientMessage>;

/** A status change as the server pushes it. */
export const orderStatusMessage = z.object({
  type: z.literal('order.status'),
  orderId: z.string().check(z.minLength(1)),
  status: z.enum(ORDER_STATUSES),
  /** Why the order was cancelled or rejected. */
  reason: z.optional(z.string()),
  /** ISO time of the event that caused the transition. */
  at: z.string(),
});

/** A status change pushed to subscribers. */
export type OrderStatusMessage = z.infer<typeof orderStatusMessage>;

/** Why the server refused a client message. */
export const LIVE_ERROR_CODES = [
  'MESSAGE_TOO_LARGE',
  'INVALID_JSON',
  'INVALID_MESSAGE',
  'TOO_MANY_SUBSCRIPTIONS',
  'ORDER_NOT_FOUND',
  'INTERNAL_ERROR',
] as const;

/** A code of an error message. */
export type LiveErrorCode = (typeof LIVE_ERROR_CODES)[number];

/** Every message the server sends. */
export const serverMessage = z.discriminatedUnion('type', [
  orderStatusMessage,
  z.object({ type: z.literal('subscribed'), orderId: z.string() }),
  z.object({ type: z.literal('unsubscribed'), orderId: z.string() }),
  z.object({ type: z.literal('error'), code: z.enum(LIVE_ERROR_CODES), message: z.string() }),
]);

/** A parsed server message. */
export type ServerMessage = z.infer<typeof serverMessage>;

/** The outcome of parsing a client message: the message, or the error to send back. */
export type ParsedClientMessage =
  | { readonly ok: true; readonly message: ClientMessage }
  | { readonly ok: false; readonly error: Extract<ServerMessage, { type: 'error' }> };

/**
 * Parses one client message. Never throws: whatever arrives (oversized, not JSON, wrong shape) becomes the error
 * message to send back, naming what was wrong, so one bad client cannot disturb the handling of others.
 *
 * @example
 * parseClientMessage('{"action":"subscribe","orderId":"ord_1"}') // { ok: true, message: { action: 'subscribe', ... } }
 * parseClientMessage('hello').ok // false (INVALID_JSON)
 */
export function parseClientMessage(body: string | undefined | null): ParsedClientMessage {
  const text = body ?? '';
  if (Buffer.byteLength(text, 'utf8') > MAX_CLIENT_MESSAGE_BYTES) {
    return refuse('MESSAGE_TOO_LARGE', `a message may be at most ${MAX_CLIENT_MESSAGE_BYTES} bytes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return refuse('INVALID_JSON', 'a message must be one JSON object');
  }
  const parsed = clientMessage.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'message';
    return refuse(
      'INVALID_MESSAGE',
      `${where}: ${issue?.message ?? 'invalid'}; expected {"action":"subscribe"|"unsubscribe","orderId":"<id>"|"*"}`,
    );
  }
  return { ok: true, message: parsed.data };
}

/** An error message for the client. */
export function refuse(code: LiveErrorCode, message: string): Extract<ParsedClientMessage, { ok: false }> {
  return { ok: false, error: { type: 'error', code, message } };
}
