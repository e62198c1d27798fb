/**
 * Error classes shared by every function. A record's failure is either permanent (it goes to the dead-letter
 * topic with a reason and the batch moves on) or transient (the event source retries from that record).
 */

/** Why a record was dead-lettered; the `dlq-reason` header. */
export type DlqReason = 'DESERIALIZATION_ERROR' | 'SCHEMA_NOT_FOUND' | 'VALIDATION_ERROR' | 'PROCESSING_ERROR';

/** Base class of orderflow's errors. */
export class OrderflowError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A record that can never succeed, however often it is retried: it is dead-lettered with `reason`. */
export class PermanentError extends OrderflowError {
  constructor(
    readonly reason: DlqReason,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The record's bytes could not be turned into an event (not framed, unknown schema id, Avro mismatch). */
export class DecodeError extends PermanentError {}

/** The event decoded but breaks a rule no retry can fix (missing order data, impossible request). */
export class ValidationError extends PermanentError {
  constructor(message: string, options?: ErrorOptions) {
    super('VALIDATION_ERROR', message, options);
  }
}

/** A dependency failed in a way that may pass (throttling, timeout, 5xx): retry the record. */
export class TransientError extends OrderflowError {}

/** A required configuration value is missing or malformed at cold start. */
export class ConfigError extends OrderflowError {}

/**
 * AWS error names that say the request itself is wrong (our bug, not the service's state): the same request fails
 * the same way however often it is retried. Throttling, 5xx, missing resources (a table or bus still being
 * provisioned) and access errors stay transient: they pass, or an operator fixes them while retries run.
 */
const OUR_FAULT_AWS_ERRORS: ReadonlySet<string> = new Set([
  'ValidationException',
  'SerializationException',
  'InvalidParameterException',
  'InvalidParameterValueException',
  'InvalidParameterCombinationException',
]);

/** Node's socket error codes of a dependency that is away or went away mid-request. */
const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Whether `error` is an AWS SDK error for a request that is wrong as sent (a 4xx that is our fault). */
function isOurAwsFault(error: unknown): boolean {
  const e = error as {
    name?: unknown;
    $fault?: unknown;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: number };
  };
  if (typeof e?.name !== 'string' || !OUR_FAULT_AWS_ERRORS.has(e.name)) return false;
  if (e.$retryable) return false;
  return e.$fault === 'client' || e.$metadata?.httpStatusCode === 400;
}

/**
 * How a failure should be treated: `transient` (connection refused or reset, timeouts, throttling, 5xx: retried
 * with backoff until the event source's budget runs out) or `permanent` (dead-lettered at once).
 */
export function failureKind(error: unknown): 'transient' | 'permanent' {
  if (error instanceof PermanentError) return 'permanent';
  if (error instanceof TransientError) return 'transient';
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return 'transient';
  return isOurAwsFault(error) ? 'permanent' : 'transient';
}

/**
 * `error` as the `PermanentError` it is, or a `PROCESSING_ERROR` one carrying it (an AWS 4xx that is our fault).
 *
 * @example
 * if (!isTransient(error)) deadLetter(record, asPermanent(error).reason);
 */
export function asPermanent(error: unknown): PermanentError {
  if (error instanceof PermanentError) return error;
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new PermanentError('PROCESSING_ERROR', message, { cause: error });
}

/**
 * Whether a record that failed with `error` should be retried rather than dead-lettered. A `PermanentError` (bad
 * bytes, invalid content, a business-impossible request) and an AWS error for a request that is wrong as sent
 * (`ValidationException` and the like, `failureKind`) are dead-lettered at once; anything else (throttling,
 * timeouts, 5xx, a broker or emulator that is away, even an unexpected bug) is retried by the event source, with
 * capped exponential backoff, until its retries are spent (docs/retry-policy.md). Retrying a bug costs a few
 * invocations; dead-lettering a passing fault would need a manual redrive.
 */
export function isTransient(error: unknown): boolean {
  return failureKind(error) === 'transient';
}
