/**
 * A stand-in payment gateway with the behaviours the pipeline has to cope with, chosen by the card token:
 * absent or `tok_visa` pays, `tok_decline` (or any unknown token) is refused, `tok_flaky` is unavailable on
 * the first attempt for an order and pays on the retry.
 */
import { derivedId } from '../../shared/ids.js';
import { GatewayUnavailableError, PaymentDeclinedError, type PaymentGateway } from './payment-gateway.js';

/** Card tokens the simulated gateway understands. */
export const TEST_TOKENS = { VISA: 'tok_visa', DECLINE: 'tok_decline', FLAKY: 'tok_flaky' } as const;

/**
 * Counts charge attempts per order. The retry of a flaky charge usually runs in another Lambda container, so
 * the count lives outside the process (DynamoDB in AWS).
 */
export interface AttemptCounter {
  /** Records one more attempt for `orderId` and returns how many there have been, this one included. */
  next(orderId: string): Promise<number>;
}

/** The simulated gateway; `attempts` is only consulted for `tok_flaky`. */
export function simulatedGateway(attempts: AttemptCounter): PaymentGateway {
  return {
    async charge({ orderId, token }) {
      const paid = { paymentId: derivedId('simulated-gateway', orderId) };
      switch (token) {
        case null:
        case TEST_TOKENS.VISA:
          return paid;
        case TEST_TOKENS.FLAKY: {
          const attempt = await attempts.next(orderId);
          if (attempt <= 1)
            throw new GatewayUnavailableError(`gateway unavailable (attempt ${attempt} for ${orderId})`);
          return paid;
        }
        case TEST_TOKENS.DECLINE:
          throw new PaymentDeclinedError('card declined');
        default:
          throw new PaymentDeclinedError('unknown card token');
      }
    },
    async refund() {},
  };
}
