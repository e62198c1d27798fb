import { describe, expect, it } from '@jest/globals';
import { OrderflowError, TransientError } from '../../shared/errors.js';
import { derivedId } from '../../shared/ids.js';
import { GatewayUnavailableError, PaymentDeclinedError } from './payment-gateway.js';
import { type AttemptCounter, simulatedGateway } from './simulated-gateway.js';

/** Attempts per order, as the DynamoDB counter keeps them; `calls` shows when the gateway asked. */
class MemoryAttemptCounter implements AttemptCounter {
  readonly attempts = new Map<string, number>();
  calls = 0;
  async next(orderId: string): Promise<number> {
    this.calls += 1;
    const next = (this.attempts.get(orderId) ?? 0) + 1;
    this.attempts.set(orderId, next);
    return next;
  }
}

const charge = (orderId: string, token: string | null) => ({
  orderId,
  amountCents: 2500,
  currency: 'EUR',
  token,
  idempotencyKey: orderId,
});

describe('simulatedGateway', () => {
  it('pays tok_visa and a missing token with a payment id derived from the order', async () => {
    // Prepare
    const counter = new MemoryAttemptCounter();
    const gateway = simulatedGateway(counter);

    // Act
    const visa = await gateway.charge(charge('o-1', 'tok_visa'));
    const none = await gateway.charge(charge('o-2', null));
    const again = await gateway.charge(charge('o-1', 'tok_visa'));

    // Assess
    expect(visa).toEqual({ paymentId: derivedId('simulated-gateway', 'o-1') });
    expect(none).toEqual({ paymentId: derivedId('simulated-gateway', 'o-2') });
    expect(again).toEqual(visa);
    expect(counter.calls).toBe(0);
  });

  it('declines tok_decline and any token it does not know, as a domain error', async () => {
    // Prepare
    const gateway = simulatedGateway(new MemoryAttemptCounter());

    // Act
    const declined = gateway.charge(charge('o-1', 'tok_decline'));
    const unknown = gateway.charge(charge('o-2', 'tok_mastercard'));

    // Assess
    await expect(declined).rejects.toThrow(PaymentDeclinedError);
    await expect(unknown).rejects.toThrow(PaymentDeclinedError);
    const error = await declined.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OrderflowError);
    expect(error).not.toBeInstanceOf(TransientError);
  });

  it('is unavailable on the first tok_flaky attempt of each order and pays on the retry', async () => {
    // Prepare
    const counter = new MemoryAttemptCounter();
    const gateway = simulatedGateway(counter);

    // Act
    const first = gateway.charge(charge('o-1', 'tok_flaky'));
    await expect(first).rejects.toThrow(GatewayUnavailableError);
    const retry = await gateway.charge(charge('o-1', 'tok_flaky'));
    const otherOrder = gateway.charge(charge('o-2', 'tok_flaky'));

    // Assess
    expect(await first.catch((e: unknown) => e)).toBeInstanceOf(TransientError);
    expect(retry).toEqual({ paymentId: derivedId('simulated-gateway', 'o-1') });
    await expect(otherOrder).rejects.toThrow(GatewayUnavailableError);
    expect(Object.fromEntries(counter.attempts)).toEqual({ 'o-1': 2, 'o-2': 1 });
  });
});
