/**
 * live-connections: the routes of the live order-updates WebSocket API (`shared/live-protocol.ts`). Each client
 * message becomes a change of its subscriptions and a reply posted back to the connection; the store, the
 * order-status reader and the sender are ports, so this runs the same in AWS, under the local dev server and in
 * tests.
 *
 * A reply is posted rather than returned: API Gateway only forwards a route's return value when the route has a
 * route response, and pushing through the Management API is what the notifier does anyway.
 */
import type { ConnectionSender } from '../../shared/connection-sender.js';
import type { LiveConnectionsStore } from '../../shared/live-connections-store.js';
import {
  ALL_ORDERS,
  type LiveErrorCode,
  type LiveOrderStatus,
  MAX_SUBSCRIPTIONS_PER_CONNECTION,
  parseClientMessage,
  refuse,
  type ServerMessage,
} from '../../shared/live-protocol.js';

/** An order's current status, as ORDER_STATUS holds it. */
export interface CurrentStatus {
  readonly status: LiveOrderStatus;
  readonly reason?: string;
  /** ISO time of the event that moved the order into `status`. */
  readonly at: string;
}

/** Reads an order's current status; undefined when the order has none yet. */
export interface CurrentStatusReader {
  get(orderId: string): Promise<CurrentStatus | undefined>;
}

/** The ports the routes run over. */
export interface LiveConnectionsPorts {
  readonly connections: LiveConnectionsStore;
  readonly orders: CurrentStatusReader;
  readonly sender: ConnectionSender;
  /** Epoch milliseconds. */
  readonly clock: () => number;
}

/** One invocation of the WebSocket API: the route API Gateway selected, the connection and the frame. */
export interface LiveRequest {
  /** `$connect`, `$disconnect`, `subscribe`, `unsubscribe`, `$default`, or whatever else a stage routes here. */
  readonly routeKey: string;
  readonly connectionId: string;
  /** The frame as text; undefined for `$connect` and `$disconnect`. */
  readonly body: string | undefined;
}

/** What a request did, for the logs: never the message itself, only its action and order. */
export interface LiveOutcome {
  readonly action?: 'connect' | 'disconnect' | 'subscribe' | 'unsubscribe';
  readonly orderId?: string;
  /** Why the message was refused, when it was. */
  readonly refused?: LiveErrorCode;
  /** The connection closed before the reply reached it, and was forgotten. */
  readonly gone?: boolean;
}

/**
 * Handles one request. Never throws for what a client sent (a refused message is answered with an `error`
 * message); throws when a dependency fails (DynamoDB, the Management API after its retries), so API Gateway
 * reports the failure to the client.
 *
 * Routing is by the parsed message's `action`, not by `routeKey`: with the route selection expression
 * `$request.body.action` they agree for every valid message, and a stage routing everything to `$default` still
 * works. A malformed message reaches `$default` and is refused by the parser.
 */
export async function handleLiveRequest(request: LiveRequest, ports: LiveConnectionsPorts): Promise<LiveOutcome> {
  const { connectionId } = request;
  if (request.routeKey === '$connect') {
    // Authorization (IAM on AWS) ran in API Gateway before this invocation.
    await ports.connections.connect(connectionId, ports.clock());
    return { action: 'connect' };
  }
  if (request.routeKey === '$disconnect') {
    await ports.connections.disconnect(connectionId, ports.clock());
    return { action: 'disconnect' };
  }

  const parsed = parseClientMessage(request.body);
  if (!parsed.ok) {
    return { refused: parsed.error.code, ...(await reply(connectionId, [parsed.error], ports)) };
  }
  const { action, orderId } = parsed.message;
  if (action === 'unsubscribe') {
    await ports.connections.unsubscribe(connectionId, orderId, ports.clock());
    return { action, orderId, ...(await reply(connectionId, [{ type: 'unsubscribed', orderId }], ports)) };
  }

  if (!(await ports.connections.subscribe(connectionId, orderId, ports.clock()))) {
    const error = refuse(
      'TOO_MANY_SUBSCRIPTIONS',
      `a connection may hold at most ${MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions; unsubscribe from one first`,
    ).error;
    return { action, orderId, refused: error.code, ...(await reply(connectionId, [error], ports)) };
  }
  const messages: ServerMessage[] = [{ type: 'subscribed', orderId }];
  if (orderId !== ALL_ORDERS) messages.push(await currentStatusMessage(orderId, ports.orders));
  return { action, orderId, ...(await reply(connectionId, messages, ports)) };
}

/**
 * The first message of a single-order subscription: its current status, read after the subscription was written
 * so no change falls between the two. A change that lands meanwhile may reach the client twice, or just before
 * this message; clients dedupe on orderId + status and keep the latest `at`. An order with no status yet is
 * reported, not refused: order-status may not have written it yet, and its changes will come.
 */
async function currentStatusMessage(orderId: string, orders: CurrentStatusReader): Promise<ServerMessage> {
  const current = await orders.get(orderId);
  if (current === undefined) {
    return refuse(
      'ORDER_NOT_FOUND',
      `order ${orderId} has no status yet (it may not be recorded yet); you stay subscribed and get its changes`,
    ).error;
  }
  return {
    type: 'order.status',
    orderId,
    status: current.status,
    ...(current.reason === undefined ? {} : { reason: current.reason }),
    at: current.at,
  };
}

/**
 * Posts `messages` in order; stops at the first that finds the connection gone, and forgets the connection then
 * (its `$disconnect` may have run before this request wrote its subscription).
 */
async function reply(
  connectionId: string,
  messages: readonly ServerMessage[],
  ports: LiveConnectionsPorts,
): Promise<Pick<LiveOutcome, 'gone'>> {
  for (const message of messages) {
    if ((await ports.sender.send(connectionId, message)) === 'gone') {
      await ports.connections.disconnect(connectionId, ports.clock());
      return { gone: true };
    }
  }
  return {};
}
