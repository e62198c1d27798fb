/**
 * The two lookups the codec needs from a Confluent-compatible schema registry, over `fetch`
 * (https://docs.confluent.io/platform/current/schema-registry/develop/api.html): `GET /schemas/ids/{id}` and
 * `GET /subjects/{subject}/versions/latest`. A general client (@kafkajs/confluent-schema-registry) bundles Protobuf
 * and JSON-Schema support and an HTTP framework the functions never use: 0.3 MB of every Kafka function's bundle.
 */
import type { RegistryAuth } from './schema-registry.js';

/** A registry answered with a status other than 2xx; `status` decides what the caller does (404: not found). */
export class RegistryResponseError extends Error {
  /** HTTP status of the response. */
  readonly status: number;

  constructor(message: string, status: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RegistryResponseError';
    this.status = status;
  }
}

/** A schema as `GET /schemas/ids/{id}` returns it. */
export interface RegistrySchema {
  /** The schema text (Avro: its JSON). */
  readonly schema: string;
  /** `AVRO` when absent, else `PROTOBUF` or `JSON`. */
  readonly schemaType?: string;
}

/** A subject's version as `GET /subjects/{subject}/versions/latest` returns it. */
export interface RegistrySubjectVersion extends RegistrySchema {
  readonly subject: string;
  readonly id: number;
  readonly version: number;
}

/** How a registry client connects and retries. */
export interface RegistryClientOptions {
  /** Base URL, e.g. `https://registry.example:8081`. */
  readonly host: string;
  /** Retries of a request that met a 5xx or a network error. @default 2 */
  readonly retries?: number;
  /** First backoff in milliseconds, doubled per retry with ±20 % jitter, each capped at 5 s. @default 100 */
  readonly initialRetryMs?: number;
  /** The fetch to use. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/** The registry lookups, each with the basic-auth credentials to send (none: no `Authorization` header). */
export interface RegistryClient {
  /** `GET /schemas/ids/{id}`. */
  schemaById(id: number, auth?: RegistryAuth): Promise<RegistrySchema>;
  /** `GET /subjects/{subject}/versions/latest`. */
  latestVersion(subject: string, auth?: RegistryAuth): Promise<RegistrySubjectVersion>;
}

const MAX_RETRY_MS = 5_000;

/**
 * A fetch-based registry client. A non-2xx answer rejects with `RegistryResponseError` (its `status` set); 5xx
 * answers and network errors are retried first, with the backoff of the library it replaces (mappersmith's retry
 * v2 as @kafkajs/confluent-schema-registry configured it).
 *
 * @example
 * const client = registryClient({ host: 'http://127.0.0.1:8081' });
 * const { id } = await client.latestVersion('orders.raw-value');
 */
export function registryClient(options: RegistryClientOptions): RegistryClient {
  const host = options.host.replace(/\/+$/, '');
  const retries = options.retries ?? 2;
  const initialRetryMs = options.initialRetryMs ?? 100;
  const doFetch = options.fetch ?? globalThis.fetch;

  async function get<T>(path: string, auth: RegistryAuth | undefined): Promise<T> {
    const url = `${host}${path}`;
    const headers: Record<string, string> = { accept: 'application/vnd.schemaregistry.v1+json' };
    if (auth) headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    let delay = initialRetryMs;
    for (let attempt = 0; ; attempt += 1) {
      let response: Response;
      try {
        response = await doFetch(url, { method: 'GET', headers });
      } catch (error) {
        if (attempt >= retries) throw error;
        delay = await backoff(delay);
        continue;
      }
      if (response.ok) return (await response.json()) as T;
      if (response.status >= 500 && attempt < retries) {
        await response.body?.cancel();
        delay = await backoff(delay);
        continue;
      }
      const body = await response.text().catch(() => '');
      let message = '';
      try {
        message = String((JSON.parse(body) as { message?: unknown }).message ?? '');
      } catch {
        // not JSON: the status says enough
      }
      throw new RegistryResponseError(
        `schema registry GET ${url}: ${message || `status ${response.status}`}`,
        response.status,
      );
    }
  }

  return {
    schemaById: (id, auth) => get<RegistrySchema>(`/schemas/ids/${encodeURIComponent(String(id))}`, auth),
    latestVersion: (subject, auth) =>
      get<RegistrySubjectVersion>(`/subjects/${encodeURIComponent(subject)}/versions/latest`, auth),
  };
}

/** Waits `ms` ±20 % and returns the next delay. */
async function backoff(ms: number): Promise<number> {
  const jittered = Math.min(MAX_RETRY_MS, ms * (0.8 + Math.random() * 0.4));
  await new Promise((resolve) => setTimeout(resolve, jittered));
  return Math.min(MAX_RETRY_MS, ms * 2);
}
