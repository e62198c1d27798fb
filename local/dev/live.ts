/**
 * The live WebSocket endpoint, locally: `ws://127.0.0.1:3000/live` behaves as the API Gateway WebSocket API of the
 * CDK stack, and `/_live/@connections/{id}` as its Management API (the `LIVE_CALLBACK_URL` the functions post to).
 *
 * Each connection gets an API-Gateway-like connection id; `$connect`, every message and `$disconnect` invoke the
 * route handler with the event API Gateway's Lambda proxy integration sends, one message at a time per connection
 * and in order. Route selection is `$request.body.action`: a JSON message whose `action` names a route goes to
 * it, anything else to `$default`.
 *
 * What API Gateway does and this emulates (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html,
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-develop-binary-media-types.html):
 * - a frame over 32 KiB closes the connection with 1009, a binary frame with 1003;
 * - a connection idle for 10 minutes, or open for 2 hours, is closed (1001);
 * - a route integration that fails or outlives the 29 s integration timeout makes the gateway send the client
 *   `{"message":"Internal server error","connectionId","requestId"}`; what a message route returns is not sent;
 * - `PostToConnection` to a connection that is gone (or still in `$connect`) answers 410 `GoneException`, data
 *   over 128 KiB 413 `PayloadTooLargeException`.
 * What differs: a message API Gateway would take in several frames of up to 32 KiB (up to 128 KiB in all) is
 * refused here unless it fits in 32 KiB (browsers and `ws` send a message as one frame); SigV4 signatures on
 * the Management API are accepted without being checked; header names reach the handler lowercased.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { APIGatewayProxyWebsocketEventV2, Context } from 'aws-lambda';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import type { ClientMessage } from '../../shared/live-protocol.js';
import { lambdaContext } from '../esm/context.js';
import { startSandboxPool } from '../esm/sandbox.js';
import { readAtMost } from './http.js';

/** What a WebSocket route handler returns; API Gateway reads only `statusCode` (and only on `$connect`). */
export interface LiveRouteResult {
  readonly statusCode?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

/**
 * The WebSocket routes' handler, `functions/live-connections`'s signature; in `npm run dev` it runs in a sandbox
 * pool, in tests it is a plain function.
 */
export type LiveRouteHandler = (
  event: APIGatewayProxyWebsocketEventV2,
  context: Context,
) => Promise<LiveRouteResult | undefined>;

/** Custom routes of the API besides `$connect`, `$disconnect` and `$default`: the actions of the protocol. */
export const LIVE_ROUTES = ['subscribe', 'unsubscribe'] as const satisfies readonly ClientMessage['action'][];

/** API Gateway's WebSocket quotas, in bytes and milliseconds. */
export const WEBSOCKET_QUOTAS = {
  FRAME_BYTES: 32 * 1024,
  POST_BYTES: 128 * 1024,
  IDLE_MS: 10 * 60 * 1000,
  DURATION_MS: 2 * 60 * 60 * 1000,
  INTEGRATION_TIMEOUT_MS: 29_000,
} as const;

/** Messages of one connection waiting for the handler before the socket stops reading (back-pressure). */
const MAX_QUEUED_MESSAGES = 16;

/** Options of `attachLiveGateway`. */
export interface LiveGatewayOptions {
  readonly routeHandler: LiveRouteHandler;
  /** Path of the WebSocket endpoint. @default '/live' */
  readonly path?: string;
  /** Path prefix of the Management API, the functions' `LIVE_CALLBACK_URL`. @default '/_live' */
  readonly managementPath?: string;
  /** Function name in the handler's context. @default 'live-connections' */
  readonly functionName?: string;
  /**
   * How long the gateway waits for the handler: the function's timeout or the integration timeout, if shorter.
   * @default - `WEBSOCKET_QUOTAS.INTEGRATION_TIMEOUT_MS`
   */
  readonly timeoutMs?: number;
  /** @default - `WEBSOCKET_QUOTAS.IDLE_MS` */
  readonly idleTimeoutMs?: number;
  /** @default - `WEBSOCKET_QUOTAS.DURATION_MS` */
  readonly maxDurationMs?: number;
  /** `requestContext.stage`. @default 'local' */
  readonly stage?: string;
  readonly log?: (message: string) => void;
}

/** The gateway attached to a server. */
export interface LiveGateway {
  /** Serves the Management API; resolves `false` for any other request (an `ExtraRoute` of `http.ts`). */
  handleRequest(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** Sends `data` to a connection, as `PostToConnection` does; `false` when it is gone. */
  post(connectionId: string, data: string): boolean;
  /** Connection ids open now. */
  connectionIds(): string[];
  /** Closes every connection (each gets its `$disconnect`) and stops taking new ones. */
  close(): Promise<void>;
}

/** One open connection. */
interface Connection {
  readonly id: string;
  readonly socket: WebSocket;
  readonly connectedAt: number;
  lastActiveAt: number;
  readonly sourceIp: string;
  readonly userAgent: string;
  /** The handler's invocations for this connection, chained so they run one at a time, in order. */
  tail: Promise<void>;
  queued: number;
  idleTimer?: NodeJS.Timeout;
  readonly durationTimer: NodeJS.Timeout;
}

/** An id as API Gateway's look (`L0SM9cOFvHcCIhw=`): 10 random bytes, base64. */
export function gatewayId(): string {
  return randomBytes(10).toString('base64');
}

/** `$request.body.action` route selection: the action when it names a custom route, else `$default`. */
export function selectRoute(body: string, routes: readonly string[] = LIVE_ROUTES): string {
  try {
    const json: unknown = JSON.parse(body);
    const action = json && typeof json === 'object' ? (json as { action?: unknown }).action : undefined;
    return typeof action === 'string' && routes.includes(action) ? action : '$default';
  } catch {
    return '$default';
  }
}

/** `requestContext.requestTime` as API Gateway writes it: `09/Apr/2025:12:34:56 +0000`. */
export function requestTime(epochMs: number): string {
  const d = new Date(epochMs);
  const month = d.toLocaleString('en', { month: 'short', timeZone: 'UTC' });
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getUTCDate())}/${month}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/**
 * Serves `/live` and the Management API on `server`: upgrades go through `$connect`, and `handleRequest` must be
 * mounted on the server's request routing (`mountRoute` in `http.ts`).
 *
 * @example
 * const gateway = attachLiveGateway(server, { routeHandler });
 * mountRoute(server, gateway.handleRequest);
 */
export function attachLiveGateway(server: Server, options: LiveGatewayOptions): LiveGateway {
  const path = options.path ?? '/live';
  const managementPath = options.managementPath ?? '/_live';
  const functionName = options.functionName ?? 'live-connections';
  const timeoutMs = Math.min(
    options.timeoutMs ?? WEBSOCKET_QUOTAS.INTEGRATION_TIMEOUT_MS,
    WEBSOCKET_QUOTAS.INTEGRATION_TIMEOUT_MS,
  );
  const idleTimeoutMs = options.idleTimeoutMs ?? WEBSOCKET_QUOTAS.IDLE_MS;
  const maxDurationMs = options.maxDurationMs ?? WEBSOCKET_QUOTAS.DURATION_MS;
  const stage = options.stage ?? 'local';
  const log = options.log ?? ((m: string) => console.error(m));
  const connections = new Map<string, Connection>();
  /** Subprotocols `$connect` answered with, per upgrade request. */
  const chosenProtocols = new WeakMap<IncomingMessage, string>();
  const disconnects = new Set<Promise<void>>();
  let closing = false;

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: WEBSOCKET_QUOTAS.FRAME_BYTES,
    perMessageDeflate: false,
    handleProtocols: (_protocols, req) => chosenProtocols.get(req) ?? false,
  });

  const baseContext = (routeKey: string, eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT', c: ConnectionFacts) => {
    const now = Date.now();
    return {
      routeKey,
      eventType,
      extendedRequestId: gatewayId(),
      requestTime: requestTime(now),
      messageDirection: 'IN' as const,
      stage,
      connectedAt: c.connectedAt,
      requestTimeEpoch: now,
      identity: { sourceIp: c.sourceIp, userAgent: c.userAgent },
      requestId: gatewayId(),
      domainName: c.domainName,
      connectionId: c.id,
      apiId: 'local',
    };
  };

  /** Runs the handler, waiting at most `timeoutMs`; a late answer is dropped, as API Gateway drops it. */
  const invoke = async (event: unknown): Promise<LiveRouteResult> => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the route handler gave no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const result = await Promise.race([
        Promise.resolve().then(() =>
          // API Gateway sends more than the @types event declares (headers, identity, disconnectStatusCode).
          options.routeHandler(event as APIGatewayProxyWebsocketEventV2, lambdaContext(functionName, timeoutMs)),
        ),
        deadline,
      ]);
      return result ?? {};
    } finally {
      clearTimeout(timer);
    }
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== path || closing) {
      refuseUpgrade(socket, closing ? 503 : 404, closing ? 'Service Unavailable' : 'Not Found');
      return;
    }
    socket.on('error', () => {});
    const facts: ConnectionFacts = {
      id: gatewayId(),
      connectedAt: Date.now(),
      sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      userAgent: String(req.headers['user-agent'] ?? ''),
      domainName: req.headers.host ?? '127.0.0.1',
    };
    const query = [...url.searchParams.keys()];
    const event = {
      headers: flatHeaders(req),
      multiValueHeaders: Object.fromEntries(Object.entries(flatHeaders(req)).map(([k, v]) => [k, [v]])),
      ...(query.length > 0
        ? {
            queryStringParameters: Object.fromEntries(url.searchParams),
            multiValueQueryStringParameters: Object.fromEntries(query.map((k) => [k, url.searchParams.getAll(k)])),
          }
        : {}),
      requestContext: baseContext('$connect', 'CONNECT', facts),
      isBase64Encoded: false,
    };
    invoke(event).then(
      (result) => {
        const status = result.statusCode ?? 200;
        if (status < 200 || status > 299) {
          refuseUpgrade(socket, 403, 'Forbidden');
          return;
        }
        const protocol = headerValue(result.headers, 'sec-websocket-protocol');
        if (protocol) chosenProtocols.set(req, protocol);
        if (socket.destroyed || closing) {
          // The client left (or the gateway closed) during $connect: it gets its $disconnect all the same.
          track(disconnect(facts, 1006, 'Connection closed during $connect'));
          socket.destroy();
          return;
        }
        wss.handleUpgrade(req, socket, head, (ws) => open(ws, facts));
      },
      (error: unknown) => {
        log(`live: $connect of ${facts.id} failed: ${(error as Error).message}`);
        refuseUpgrade(socket, 500, 'Internal server error');
      },
    );
  };

  const open = (socket: WebSocket, facts: ConnectionFacts) => {
    const connection: Connection = {
      ...facts,
      socket,
      lastActiveAt: Date.now(),
      tail: Promise.resolve(),
      queued: 0,
      durationTimer: setTimeout(() => socket.close(1001, 'Going away'), maxDurationMs),
    };
    const touch = () => {
      connection.lastActiveAt = Date.now();
      clearTimeout(connection.idleTimer);
      connection.idleTimer = setTimeout(() => socket.close(1001, 'Going away'), idleTimeoutMs);
    };
    touch();
    connections.set(connection.id, connection);
    socket.on('error', (error) => log(`live: connection ${connection.id}: ${error.message}`));
    socket.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) {
        socket.close(1003, 'Binary frames are not supported');
        return;
      }
      touch();
      const body = rawText(data);
      connection.queued += 1;
      if (connection.queued >= MAX_QUEUED_MESSAGES) socket.pause();
      connection.tail = connection.tail.then(async () => {
        const routeKey = selectRoute(body);
        const requestContext = { ...baseContext(routeKey, 'MESSAGE', facts), messageId: gatewayId() };
        try {
          await invoke({ requestContext, body, isBase64Encoded: false });
        } catch (error) {
          log(`live: ${routeKey} of ${connection.id} failed: ${(error as Error).message}`);
          if (socket.readyState === socket.OPEN) {
            socket.send(
              JSON.stringify({
                message: 'Internal server error',
                connectionId: connection.id,
                requestId: requestContext.requestId,
              }),
            );
          }
        } finally {
          connection.queued -= 1;
          if (connection.queued < MAX_QUEUED_MESSAGES && socket.isPaused) socket.resume();
        }
      });
    });
    socket.on('close', (code: number, reason: Buffer) => {
      clearTimeout(connection.idleTimer);
      clearTimeout(connection.durationTimer);
      connections.delete(connection.id);
      // $disconnect comes after the messages already taken in, as the handler saw them in order.
      track(connection.tail.then(() => disconnect(facts, code, reason.toString() || undefined)));
    });
  };

  const disconnect = async (facts: ConnectionFacts, code: number, reason?: string): Promise<void> => {
    const requestContext = {
      ...baseContext('$disconnect', 'DISCONNECT', facts),
      disconnectStatusCode: code,
      disconnectReason: reason ?? '',
    };
    try {
      await invoke({ headers: {}, multiValueHeaders: {}, requestContext, isBase64Encoded: false });
    } catch (error) {
      log(`live: $disconnect of ${facts.id} failed: ${(error as Error).message}`);
    }
  };

  const track = (promise: Promise<void>) => {
    disconnects.add(promise);
    void promise.finally(() => disconnects.delete(promise));
  };

  const handleRequest = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const prefix = `${managementPath}/@connections/`;
    if (!url.pathname.startsWith(prefix)) return false;
    let id: string;
    try {
      id = decodeURIComponent(url.pathname.slice(prefix.length));
    } catch {
      answerError(res, 400, 'BadRequestException', 'malformed connection id');
      return true;
    }
    const connection = connections.get(id);
    const method = req.method ?? 'GET';
    if (method === 'POST') {
      const body = await readAtMost(req, WEBSOCKET_QUOTAS.POST_BYTES);
      if (!body) {
        answerError(res, 413, 'PayloadTooLargeException', 'Message too long');
        return true;
      }
      if (!connection || connection.socket.readyState !== connection.socket.OPEN) {
        answerError(res, 410, 'GoneException', null);
        return true;
      }
      connection.socket.send(body, { binary: false });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return true;
    }
    await drain(req);
    if (!connection) {
      answerError(res, 410, 'GoneException', null);
      return true;
    }
    if (method === 'GET') {
      const body = {
        connectedAt: new Date(connection.connectedAt).toISOString(),
        identity: { sourceIp: connection.sourceIp, userAgent: connection.userAgent },
        lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      return true;
    }
    if (method === 'DELETE') {
      connection.socket.close(1000, 'Goodbye');
      res.writeHead(204).end();
      return true;
    }
    answerError(res, 405, 'MethodNotAllowedException', `${method} is not allowed on @connections`);
    return true;
  };

  server.on('upgrade', onUpgrade);

  const close = async () => {
    closing = true;
    server.off('upgrade', onUpgrade);
    for (const connection of connections.values()) connection.socket.close(1001, 'Going away');
    // A client that does not answer the close handshake is cut off.
    const deadline = Date.now() + 2_000;
    while (connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const connection of connections.values()) connection.socket.terminate();
    while (connections.size > 0) await new Promise((r) => setTimeout(r, 5));
    await Promise.allSettled([...disconnects]);
    wss.close();
  };

  const post = (connectionId: string, data: string): boolean => {
    const connection = connections.get(connectionId);
    if (!connection || connection.socket.readyState !== connection.socket.OPEN) return false;
    connection.socket.send(data);
    return true;
  };

  return { handleRequest, post, connectionIds: () => [...connections.keys()], close };
}

/** A route handler and how to stop what runs it. */
export interface LiveRoutes {
  readonly handler: LiveRouteHandler;
  stop(): Promise<void>;
}

/**
 * A function's `handler` as the WebSocket routes' handler, run in sandboxes of its own as Lambda runs it; the
 * gateway stops waiting at the integration timeout, and an invocation not started by then never runs.
 *
 * @example
 * const routes = await sandboxedLiveRoutes('live-connections', { timeoutMs: 30_000, env });
 */
export async function sandboxedLiveRoutes(
  functionName: string,
  options: {
    readonly timeoutMs: number;
    readonly concurrency?: number;
    readonly env: Readonly<Record<string, string>>;
  },
): Promise<LiveRoutes> {
  const pool = await startSandboxPool({ functionName, ...options, concurrency: options.concurrency ?? 2 });
  const limitMs = Math.min(options.timeoutMs, WEBSOCKET_QUOTAS.INTEGRATION_TIMEOUT_MS);
  return {
    handler: (event) => pool.invoke<LiveRouteResult | undefined>(event, { deadline: Date.now() + limitMs - 100 }),
    stop: () => pool.stop(),
  };
}

/** What a connection is known by before it is open. */
interface ConnectionFacts {
  readonly id: string;
  readonly connectedAt: number;
  readonly sourceIp: string;
  readonly userAgent: string;
  readonly domainName: string;
}

function flatHeaders(req: IncomingMessage): Record<string, string> {
  return Object.fromEntries(
    Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]),
  );
}

function headerValue(headers: Readonly<Record<string, string>> | undefined, name: string): string | undefined {
  return Object.entries(headers ?? {}).find(([k]) => k.toLowerCase() === name)?.[1];
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

/** Answers an upgrade request with an HTTP error, as API Gateway answers a refused `$connect`. */
function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ message });
  socket.end(
    `HTTP/1.1 ${status} ${message}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** An error as the Management API answers it; the SDK reads the type from `x-amzn-errortype`. */
function answerError(res: ServerResponse, status: number, type: string, message: string | null): void {
  res
    .writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type })
    .end(JSON.stringify({ message }));
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const _ of req) {
    // Discarded: GET and DELETE carry no body.
  }
}
