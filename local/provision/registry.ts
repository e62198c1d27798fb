/**
 * The few calls of the Confluent schema registry REST API that provisioning needs, over fetch. Not through
 * @kafkajs/confluent-schema-registry: its `register` refuses a top-level union, and every topic carrying several
 * event types has one (https://docs.confluent.io/platform/current/schema-registry/develop/api.html).
 */

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/** Compatibility levels a subject can have. */
export type CompatibilityLevel =
  | 'NONE'
  | 'BACKWARD'
  | 'BACKWARD_TRANSITIVE'
  | 'FORWARD'
  | 'FORWARD_TRANSITIVE'
  | 'FULL'
  | 'FULL_TRANSITIVE';

/** The registry refused a request; `status` 409 means the schema breaks the subject's compatibility rule. */
export class RegistryError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly errorCode: number | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'RegistryError';
  }
}

/** Basic auth from SCHEMA_REGISTRY_USERNAME / SCHEMA_REGISTRY_PASSWORD, the variables the functions use too. */
function basicAuth(): Record<string, string> {
  const user = process.env.SCHEMA_REGISTRY_USERNAME;
  const password = process.env.SCHEMA_REGISTRY_PASSWORD;
  return user && password ? { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } : {};
}

async function call(method: string, url: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: { 'Content-Type': CONTENT_TYPE, Accept: CONTENT_TYPE, ...basicAuth() },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    throw new RegistryError(`${method} ${url}: registry unreachable (${(error as Error).message})`, 0, undefined, {
      cause: error,
    });
  }
  const text = await response.text();
  let json: unknown = text;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON (e.g. an HTML error page): keep the text for the message.
  }
  return { status: response.status, json };
}

function failure(what: string, status: number, json: unknown): RegistryError {
  const body = json as { error_code?: number; message?: string } | undefined;
  const message = typeof body === 'object' && body?.message ? body.message : String(json ?? '');
  return new RegistryError(`${what}: HTTP ${status}: ${message}`, status, body?.error_code);
}

function subjectUrl(baseUrl: string, subject: string): string {
  return `${baseUrl}/subjects/${encodeURIComponent(subject)}`;
}

/**
 * Registers `schema` (Avro, as JSON text) under `subject` and returns its id; registering an identical schema
 * again returns the existing id. Throws `RegistryError` with status 409 when the schema is incompatible.
 *
 * @example
 * const id = await registerSchema(url, 'orders.raw-value', JSON.stringify(schema));
 */
export async function registerSchema(baseUrl: string, subject: string, schema: string): Promise<number> {
  const { status, json } = await call('POST', `${subjectUrl(baseUrl, subject)}/versions`, { schema });
  if (status !== 200) {
    const error = failure(`registering a new schema under ${subject}`, status, json);
    if (status === 409) {
      throw new RegistryError(
        `schema for ${subject} is incompatible with the registered versions (compatibility rule refused it): ${error.message}`,
        status,
        error.errorCode,
      );
    }
    throw error;
  }
  return (json as { id: number }).id;
}

/** The id of `schema` if it is already registered under `subject`, else undefined. */
export async function lookupSchema(baseUrl: string, subject: string, schema: string): Promise<number | undefined> {
  const { status, json } = await call('POST', subjectUrl(baseUrl, subject), { schema });
  if (status === 404) return undefined;
  if (status !== 200) throw failure(`looking up the schema of ${subject}`, status, json);
  return (json as { id: number }).id;
}

/** The compatibility level set on `subject`, or undefined when the subject has none of its own. */
export async function subjectCompatibility(baseUrl: string, subject: string): Promise<string | undefined> {
  const { status, json } = await call('GET', `${baseUrl}/config/${encodeURIComponent(subject)}`);
  if (status === 404) return undefined;
  if (status !== 200) throw failure(`reading the compatibility of ${subject}`, status, json);
  const body = json as { compatibilityLevel?: string; compatibility?: string };
  return body.compatibilityLevel ?? body.compatibility;
}

/** Sets the compatibility level of `subject`. */
export async function setSubjectCompatibility(
  baseUrl: string,
  subject: string,
  level: CompatibilityLevel,
): Promise<void> {
  const { status, json } = await call('PUT', `${baseUrl}/config/${encodeURIComponent(subject)}`, {
    compatibility: level,
  });
  if (status !== 200) throw failure(`setting ${subject} to ${level}`, status, json);
}

/** Whether `schema` could be registered under `subject` (tests the latest version). */
export async function isCompatible(baseUrl: string, subject: string, schema: string): Promise<boolean> {
  const { status, json } = await call(
    'POST',
    `${baseUrl}/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest`,
    { schema },
  );
  if (status !== 200) throw failure(`testing compatibility of ${subject}`, status, json);
  return (json as { is_compatible: boolean }).is_compatible;
}
