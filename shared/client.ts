/**
 * The typed orderflow client, framework-free: the HTTP API (`placeOrder`, `getOrder`) and live order updates
 * (`watchOrder`, the protocol of `shared/live-protocol.ts`). Runs in Node 20 and browsers, so it is usable from a
 * Next.js route handler or a React hook: it uses the global `fetch` and `WebSocket` unless given others (Node 20
 * has no global WebSocket: pass `ws`). Requests to the AWS endpoints can be signed with SigV4 (`execute-api`),
 * the WebSocket `$connect` as a presigned URL, with credentials the caller supplies.
 */
import { type ClientMessage, ORDER_STATUSES, type OrderStatusMessage, serverMessage } from './live-protocol.js';

/** An order as `POST /orders` takes it. */
export interface OrderRequest {
  readonly customerId: string;
  readonly email: string;
  readonly currency: 'EUR' | 'USD' | 'GBP';
  readonly items: readonly { readonly sku: string; readonly quantity: number }[];
  readonly paymentToken?: string;
}

/** `202` of `POST /orders`. */
export interface PlacedOrder {
  readonly orderId: string;
  readonly status: 'PLACED';
}

/** `200` of `GET /orders/{orderId}`. */
export interface OrderView {
  readonly orderId: string;
  readonly status: OrderStatusMessage['status'];
  readonly currency: string;
  readonly items: readonly { readonly sku: string; readonly quantity: number }[];
  readonly totalCents: number;
  readonly reason?: string;
  readonly history: readonly { readonly status: string; readonly at: string }[];
}

/** An answer of the API other than the expected one: its status, its body and, on 503, when to retry. */
export class OrderflowApiError extends Error {
  override readonly name = 'OrderflowApiError';
  constructor(
    readonly status: number,
    /** The API's error body (`{"error", "details"?}`), parsed when JSON, else the text. */
    readonly body: unknown,
    /** `Retry-After` in seconds, when given. */
    readonly retryAfterSeconds?: number,
    options?: { cause?: unknown },
  ) {
    const message =
      body && typeof body === 'object' && 'error' in body ? String((body as { error: unknown }).error) : String(body);
    super(`orderflow API answered ${status}: ${message}`, options);
  }
}

/** AWS credentials, as `@aws-sdk/credential-providers` resolve them. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** A SHA-256 constructor as `@smithy/signature-v4` takes it (`@aws-crypto/sha256-js`'s `Sha256` in browsers). */
export type Sha256Constructor = new (
  secret?: unknown,
) => {
  update(data: Uint8Array | string): void;
  digest(): Promise<Uint8Array>;
};

/** SigV4 signing of requests to the AWS endpoints (IAM-authorized routes and `$connect`). */
export interface SigningOptions {
  readonly region: string;
  /** Credentials, or a function resolving them (called per request, so they may rotate). */
  readonly credentials: AwsCredentials | (() => Promise<AwsCredentials>);
  /** @default - `@smithy/hash-node`'s SHA-256 (Node only; pass `Sha256` from `@aws-crypto/sha256-js` in browsers) */
  readonly sha256?: Sha256Constructor;
}

/** The constructor of a WHATWG-like WebSocket: the global one, or `ws`. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** What the client uses of a WebSocket. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** Options of `createOrderflowClient`. */
export interface OrderflowClientOptions {
  /** The HTTP API: `http://127.0.0.1:3000` locally, the stack's `HttpApiUrl` on AWS. */
  readonly baseUrl: string;
  /**
   * The live WebSocket URL, or a function giving one per connection attempt (say, a presigned URL fetched from
   * your server, as they expire).
   * @default - `ws://<baseUrl host>/live` (the local dev server's)
   */
  readonly liveUrl?: string | (() => Promise<string>);
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default globalThis.WebSocket */
  readonly WebSocket?: WebSocketConstructor;
  /** Sign HTTP requests and the `$connect` URL with SigV4. @default - unsigned */
  readonly signing?: SigningOptions;
}

/** Options of one `watchOrder`. */
export interface WatchOptions {
  /** Errors the server sent, and connection failures; the watch goes on (it reconnects). */
  readonly onError?: (error: Error) => void;
  /** Stop after a final status (CONFIRMED, CANCELLED, REJECTED): nothing follows one. @default true */
  readonly stopOnFinal?: boolean;
  /** First reconnect delay ceiling, ms; doubles per failed attempt, with full jitter. @default 500 */
  readonly backoffBaseMs?: number;
  /** @default 30_000 */
  readonly backoffMaxMs?: number;
}

/** A running watch. */
export interface Watch {
  /** Stops watching: no reconnect, no more callbacks. */
  close(): void;
}

/**
 * Rank of a status: PLACED < VALIDATED < a final status (CONFIRMED, CANCELLED, REJECTED, which never change).
 *
 * @example
 * statusRank('VALIDATED') > statusRank('PLACED') // true
 */
export function statusRank(status: OrderStatusMessage['status']): number {
  return status === 'PLACED' ? 0 : status === 'VALIDATED' ? 1 : 2;
}

/** Delay before reconnect attempt `attempt` (0-based): uniform in [0, min(max, base · 2^attempt)) ("full jitter"). */
export function backoffDelayMs(attempt: number, baseMs = 500, maxMs = 30_000, random: () => number = Math.random) {
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** attempt));
}

const FINAL = new Set<string>(ORDER_STATUSES.filter((s) => statusRank(s) === 2));

/** The orderflow client. */
export interface OrderflowClient {
  /** `POST /orders`; a retry with the same `idempotencyKey` returns the same order. */
  placeOrder(order: OrderRequest, options: { readonly idempotencyKey: string }): Promise<PlacedOrder>;
  /** `GET /orders/{orderId}`; an unknown order is an `OrderflowApiError` with status 404. */
  getOrder(orderId: string): Promise<OrderView>;
  /**
   * Calls `onStatus` with each new status of the order, its current one first; reconnects and resubscribes with
   * exponential backoff and jitter. A status already seen or lower than one seen (delivery is at least once,
   * and a resubscription repeats the current status) is dropped.
   */
  watchOrder(orderId: string, onStatus: (message: OrderStatusMessage) => void, options?: WatchOptions): Watch;
  /** The `$connect` URL presigned with SigV4 (valid `expiresInSeconds`), for a browser to connect with. */
  presignLiveUrl(expiresInSeconds?: number): Promise<string>;
}

/**
 * A client of one deployment (or of `npm run dev`).
 *
 * @example
 * const client = createOrderflowClient({ baseUrl: 'http://127.0.0.1:3000', WebSocket: ws });
 * const { orderId } = await client.placeOrder(order, { idempotencyKey: crypto.randomUUID() });
 * const watch = client.watchOrder(orderId, (m) => console.log(m.status));
 */
export function createOrderflowClient(options: OrderflowClientOptions): OrderflowClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const fetchFn = options.fetch ?? globalThis.fetch;
  const defaultLiveUrl = `${baseUrl.replace(/^http/, 'ws')}/live`;

  const request = async <T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const url = `${baseUrl}${path}`;
    const text = body === undefined ? undefined : JSON.stringify(body);
    const allHeaders: Record<string, string> = {
      accept: 'application/json',
      ...(text === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    };
    const signed = options.signing ? await signRequest(options.signing, method, url, allHeaders, text) : allHeaders;
    const response = await fetchFn(url, { method, headers: signed, ...(text === undefined ? {} : { body: text }) });
    const raw = await response.text();
    let parsed: unknown = raw;
    try {
      parsed = raw ? JSON.parse(raw) : undefined;
    } catch {
      // Not JSON (a proxy's error page): kept as text.
    }
    if (!response.ok) {
      const retryAfter = Number(response.headers.get('retry-after'));
      throw new OrderflowApiError(response.status, parsed, Number.isFinite(retryAfter) ? retryAfter : undefined);
    }
    return parsed as T;
  };

  const presignLiveUrl = async (expiresInSeconds = 60): Promise<string> => {
    const url = typeof options.liveUrl === 'string' ? options.liveUrl : defaultLiveUrl;
    if (!options.signing) throw new Error('presignLiveUrl needs signing options');
    return presign(options.signing, url, expiresInSeconds);
  };

  const liveUrl = async (): Promise<string> => {
    if (typeof options.liveUrl === 'function') return options.liveUrl();
    return options.signing ? presignLiveUrl() : (options.liveUrl ?? defaultLiveUrl);
  };

  const watchOrder = (
    orderId: string,
    onStatus: (message: OrderStatusMessage) => void,
    watchOptions: WatchOptions = {},
  ): Watch => {
    const Socket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Socket) throw new Error('no global WebSocket here (Node 20): pass WebSocket, e.g. the ws package');
    const stopOnFinal = watchOptions.stopOnFinal ?? true;
    const reportError = (error: Error) => watchOptions.onError?.(error);
    let last: OrderStatusMessage['status'] | undefined;
    let attempt = 0;
    let closed = false;
    let socket: WebSocketLike | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const scheduleReconnect = () => {
      if (closed) return;
      const delay = backoffDelayMs(attempt, watchOptions.backoffBaseMs, watchOptions.backoffMaxMs);
      attempt += 1;
      timer = setTimeout(connect, delay);
    };

    const connect = async () => {
      if (closed) return;
      let url: string;
      try {
        url = await liveUrl();
      } catch (error) {
        reportError(new Error(`no live URL: ${(error as Error).message}`, { cause: error }));
        scheduleReconnect();
        return;
      }
      if (closed) return;
      const current = new Socket(url);
      socket = current;
      current.onopen = () => {
        const subscribe: ClientMessage = { action: 'subscribe', orderId };
        current.send(JSON.stringify(subscribe));
      };
      current.onmessage = (event) => {
        const parsed = serverMessage.safeParse(safeJson(String(event.data)));
        if (!parsed.success) {
          // API Gateway's own `{"message":"Internal server error",...}` when the route handler failed.
          reportError(new Error(`unexpected message from the live endpoint: ${String(event.data).slice(0, 200)}`));
          return;
        }
        const message = parsed.data;
        if (message.type === 'subscribed') attempt = 0;
        else if (message.type === 'error') reportError(new Error(`${message.code}: ${message.message}`));
        else if (message.type === 'order.status' && message.orderId === orderId) {
          if (last !== undefined && statusRank(message.status) <= statusRank(last)) return;
          last = message.status;
          onStatus(message);
          if (stopOnFinal && FINAL.has(message.status)) close();
        }
      };
      current.onerror = () => reportError(new Error('live connection failed'));
      current.onclose = () => {
        if (socket === current) socket = undefined;
        scheduleReconnect();
      };
    };

    const close = () => {
      closed = true;
      clearTimeout(timer);
      const open = socket;
      socket = undefined;
      if (open) {
        open.onclose = null;
        open.onmessage = null;
        open.close(1000);
      }
    };

    void connect();
    return { close };
  };

  return {
    placeOrder: (order, { idempotencyKey }) =>
      request<PlacedOrder>('POST', '/orders', order, { 'idempotency-key': idempotencyKey }),
    getOrder: (orderId) => request<OrderView>('GET', `/orders/${encodeURIComponent(orderId)}`),
    watchOrder,
    presignLiveUrl,
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The signer for `execute-api`, loaded only when signing is asked for (it stays out of unsigned bundles). */
async function signerOf(signing: SigningOptions) {
  const { SignatureV4 } = await import('@smithy/signature-v4');
  const sha256 =
    signing.sha256 ?? ((await import('@smithy/hash-node')).Hash.bind(null, 'sha256') as unknown as Sha256Constructor);
  const credentials = typeof signing.credentials === 'function' ? signing.credentials : async () => signing.credentials;
  return new SignatureV4({
    service: 'execute-api',
    region: signing.region,
    credentials: credentials as () => Promise<AwsCredentials>,
    sha256: sha256 as never,
  });
}

function httpRequestOf(method: string, url: URL, headers: Record<string, string>, body?: string) {
  return {
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: { ...headers, host: url.host },
    ...(body === undefined ? {} : { body }),
  };
}

/** The request's headers with SigV4's (`authorization`, `x-amz-date`, `x-amz-content-sha256`...). */
async function signRequest(
  signing: SigningOptions,
  method: string,
  url: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Record<string, string>> {
  const signer = await signerOf(signing);
  const signed = await signer.sign(httpRequestOf(method, new URL(url), headers, body));
  // `host` is the one header fetch sets itself (and browsers refuse).
  const { host: _host, ...rest } = signed.headers;
  return rest;
}

/** `url` (ws:// or wss://) with SigV4 in its query string, as API Gateway takes `$connect` with IAM auth. */
async function presign(signing: SigningOptions, url: string, expiresIn: number): Promise<string> {
  const parsed = new URL(url.replace(/^ws/, 'http'));
  const signer = await signerOf(signing);
  const signed = await signer.presign(httpRequestOf('GET', parsed, {}), { expiresIn });
  const out = new URL(url);
  out.search = '';
  for (const [k, v] of Object.entries(signed.query ?? {})) {
    for (const value of Array.isArray(v) ? v : [v]) if (value !== null) out.searchParams.append(k, value);
  }
  return out.toString();
}
