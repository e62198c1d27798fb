/**
 * The payment gateway port. The logic charges and refunds through it and tells a refusal (final, reported as
 * PaymentFailed) from an outage (retried by the event source) by the error class.
 */
import { OrderflowError, TransientError } from '../../shared/errors.js';

/** A charge request; `idempotencyKey` makes a repeated request return the first charge instead of a second one. */
export interface ChargeRequest {
  readonly orderId: string;
  readonly amountCents: number;
  readonly currency: string;
  /** Card token from the order; `null` when the customer gave none. */
  readonly token: string | null;
  readonly idempotencyKey: string;
}

/** A refund request for a charge made earlier. */
export interface RefundRequest {
  readonly paymentId: string;
  readonly amountCents: number;
  readonly currency: string;
  readonly idempotencyKey: string;
}

/** Takes and gives back money. Throws `PaymentDeclinedError` or `GatewayUnavailableError`. */
export interface PaymentGateway {
  charge(request: ChargeRequest): Promise<{ readonly paymentId: string }>;
  refund(request: RefundRequest): Promise<void>;
}

/** The gateway refused the charge; retrying would be refused again. */
export class PaymentDeclinedError extends OrderflowError {}

/** The gateway could not be reached or answered 5xx; the same request may pass later. */
export class GatewayUnavailableError extends TransientError {}
