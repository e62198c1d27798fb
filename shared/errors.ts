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
 * Whether a record that failed with `error` should be retried rather than dead-lettered. Only a
 * `PermanentError` (bad bytes, invalid content, a business-impossible request) is dead-lettered at once:
 * anything else (throttling, timeouts, 5xx, a broker that is away, even an unexpected bug) is retried by the
 * event source, which sends the records to the on-failure destination once its retries are spent. Retrying a
 * bug costs a few invocations; dead-lettering a passing fault would need a manual redrive.
 */
export function isTransient(error: unknown): boolean {
  return !(error instanceof PermanentError);
}
