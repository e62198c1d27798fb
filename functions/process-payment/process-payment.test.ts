import { describe, expect, it } from '@jest/globals';
import { derivedId } from '../../shared/ids.js';
import { ConcurrentWriterStore } from '../../shared/testing/concurrent-writer.js';
import { orderValidatedEvent, RecordingPublisher, testEvent, tickingClock } from '../../shared/testing/fixtures.js';
import {
  type ChargeRequest,
  GatewayUnavailableError,
  PaymentDeclinedError,
  type PaymentGateway,
  type RefundRequest,
} from './payment-gateway.js';
import {
  type Charge,
  handlePaymentEvent,
  type PaymentRecord,
  type PaymentStore,
  type ProcessPaymentPorts,
  prefetchPayments,
} from './process-payment.js';
import { type AttemptCounter, simulatedGateway } from './simulated-gateway.js';

const T0 = 1_763_700_000_000;
const NOW = T0 + 60_000;
const ORDER_ID = 'o-1';

/** An in-memory PAYMENTS table with the same conditional writes as the DynamoDB adapter. */
class MemoryPaymentStore extends ConcurrentWriterStore implements PaymentStore {
  readonly records = new Map<string, PaymentRecord>();
  /** Reads that reached the table: one per `get`, one per `getMany`. */
  reads = 0;

  async get(orderId: string): Promise<PaymentRecord | undefined> {
    this.reads += 1;
    const record = this.records.get(orderId);
    return record === undefined ? undefined : structuredClone(record);
  }

  async getMany(orderIds: readonly string[]): Promise<Map<string, PaymentRecord | undefined>> {
    this.reads += 1;
    const record = (id: string) => this.records.get(id);
    return new Map(orderIds.map((id) => [id, record(id) === undefined ? undefined : structuredClone(record(id))]));
  }

  async create(record: PaymentRecord): Promise<boolean> {
    this.concurrentWriter();
    if (this.records.has(record.orderId)) return false;
    this.records.set(record.orderId, structuredClone(record));
    return true;
  }

  async chargeCancelled(orderId: string, charge: Charge): Promise<boolean> {
    this.concurrentWriter();
    const record = this.records.get(orderId);
    if (record?.status !== 'CANCELLED') return false;
    this.records.set(orderId, { ...record, status: 'CHARGED', ...charge });
    return true;
  }

  async markRefunded(orderId: string, refund: { refundedAt: number; reason: string }): Promise<boolean> {
    this.concurrentWriter();
    const record = this.records.get(orderId);
    if (record?.status !== 'CHARGED') return false;
    this.records.set(orderId, { ...record, status: 'REFUNDED', refundReason: refund.reason, ...refund });
    return true;
  }

  record(orderId = ORDER_ID): PaymentRecord | undefined {
    return this.records.get(orderId);
  }
}

/** A gateway that records its calls; answers are scripted per call, success by default. */
class RecordingGateway implements PaymentGateway {
  readonly charges: ChargeRequest[] = [];
  readonly refunds: RefundRequest[] = [];
  nextCharge: Error | undefined;
  nextRefund: Error | undefined;
  /** Runs during the next charge: what happens elsewhere while the gateway is busy. */
  duringNextCharge: (() => void) | undefined;

  async charge(request: ChargeRequest): Promise<{ paymentId: string }> {
    this.charges.push(request);
    const during = this.duringNextCharge;
    this.duringNextCharge = undefined;
    during?.();
    const error = this.nextCharge;
    this.nextCharge = undefined;
    if (error) throw error;
    return { paymentId: `pay-${request.idempotencyKey}` };
  }

  async refund(request: RefundRequest): Promise<void> {
    this.refunds.push(request);
    const error = this.nextRefund;
    this.nextRefund = undefined;
    if (error) throw error;
  }
}

/** Attempts per order, as the DynamoDB counter keeps them. */
class MemoryAttemptCounter implements AttemptCounter {
  readonly attempts = new Map<string, number>();
  async next(orderId: string): Promise<number> {
    const next = (this.attempts.get(orderId) ?? 0) + 1;
    this.attempts.set(orderId, next);
    return next;
  }
}

function setup(gateway: PaymentGateway = new RecordingGateway()) {
  const store = new MemoryPaymentStore();
  const publisher = new RecordingPublisher();
  const ports: ProcessPaymentPorts = { store, gateway, publisher, clock: tickingClock(NOW) };
  return { store, publisher, ports };
}

/** The record of ORDER_ID charged 2500 EUR as `paymentId` at `chargedAt`: what a concurrent delivery writes. */
function chargedRecord(paymentId: string, chargedAt: number): PaymentRecord {
  return {
    orderId: ORDER_ID,
    correlationId: 'corr-1',
    status: 'CHARGED',
    paymentId,
    amountCents: 2500,
    currency: 'EUR',
    chargedAt,
  };
}

function orderValidated(paymentToken: string | null = 'tok_visa') {
  return orderValidatedEvent({ orderId: ORDER_ID, occurredAt: T0, paymentToken });
}

const inventoryRejected = testEvent('InventoryRejected', {
  eventId: 'ev-stock-out',
  orderId: ORDER_ID,
  occurredAt: T0 + 1000,
  skus: ['SKU-MUG'],
});

const cancelledRecord: PaymentRecord = {
  orderId: ORDER_ID,
  correlationId: 'corr-1',
  status: 'CANCELLED',
  refundReason: 'OUT_OF_STOCK',
  cancelledAt: T0 + 5,
};

const processed = (paymentId = `pay-${ORDER_ID}`, occurredAt = NOW) => ({
  type: 'PaymentProcessed',
  eventId: derivedId('process-payment', ORDER_ID, 'PaymentProcessed'),
  orderId: ORDER_ID,
  occurredAt,
  correlationId: 'corr-1',
  paymentId,
  amountCents: 2500,
  currency: 'EUR',
});

describe('handlePaymentEvent on OrderValidated', () => {
  it('charges the order total once, keyed by the order id, and emits PaymentProcessed', async () => {
    // Prepare
    const gateway = new RecordingGateway();
    const { store, publisher, ports } = setup(gateway);

    // Act
    const outcome = await handlePaymentEvent(orderValidated(), ports);

    // Assess
    expect(outcome).toMatchObject({ status: 'CHARGED', changed: true });
    expect(gateway.charges).toEqual([
      { orderId: ORDER_ID, amountCents: 2500, currency: 'EUR', token: 'tok_visa', idempotencyKey: ORDER_ID },
    ]);
    expect(store.record()).toEqual({
      orderId: ORDER_ID,
      correlationId: 'corr-1',
      status: 'CHARGED',
      paymentId: `pay-${ORDER_ID}`,
      amountCents: 2500,
      currency: 'EUR',
      chargedAt: NOW,
    });
    expect(publisher.published).toEqual([processed()]);
  });

  it('records a declined charge and emits PaymentFailed', async () => {
    // Prepare
    const gateway = new RecordingGateway();
    gateway.nextCharge = new PaymentDeclinedError('card declined');
    const { store, publisher, ports } = setup(gateway);

    // Act
    const outcome = await handlePaymentEvent(orderValidated('tok_decline'), ports);

    // Assess
    expect(outcome).toMatchObject({ status: 'FAILED', changed: true });
    expect(store.record()).toMatchObject({ status: 'FAILED', amountCents: 2500, currency: 'EUR' });
    expect(publisher.published).toEqual([
      {
        type: 'PaymentFailed',
        eventId: derivedId('process-payment', ORDER_ID, 'PaymentFailed'),
        orderId: ORDER_ID,
        occurredAt: NOW,
        correlationId: 'corr-1',
        amountCents: 2500,
        currency: 'EUR',
        reason: 'PAYMENT_DECLINED',
      },
    ]);
  });

  it('fails when the gateway is unavailable, writing nothing; the retry charges exactly once (tok_flaky)', async () => {
    // Prepare
    const attempts = new MemoryAttemptCounter();
    const { store, publisher, ports } = setup(simulatedGateway(attempts));

    // Act
    const first = handlePaymentEvent(orderValidated('tok_flaky'), ports);
    await expect(first).rejects.toThrow(GatewayUnavailableError);
    const recordAfterFailure = store.record();
    const retry = await handlePaymentEvent(orderValidated('tok_flaky'), ports);

    // Assess
    expect(recordAfterFailure).toBeUndefined();
    expect(retry).toMatchObject({ status: 'CHARGED', changed: true });
    expect(attempts.attempts.get(ORDER_ID)).toBe(2);
    expect(publisher.published.map((e) => e.type)).toEqual(['PaymentProcessed']);
  });

  it('re-emits the same PaymentProcessed on redelivery without calling the gateway again', async () => {
    // Prepare
    const gateway = new RecordingGateway();
    const { publisher, ports } = setup(gateway);
    await handlePaymentEvent(orderValidated(), ports);

    // Act
    const outcome = await handlePaymentEvent(orderValidated(), ports);

    // Assess
    expect(outcome).toMatchObject({ status: 'CHARGED', changed: false });
    expect(gateway.charges).toHaveLength(1);
    expect(publisher.published).toEqual([processed(), processed()]);
  });

  it('re-emits the same PaymentFailed on redelivery without calling the gateway again', async () => {
    // Prepare
    const gateway = new RecordingGateway();
    gateway.nextCharge = new PaymentDeclinedError('card declined');
    const { publisher, ports } = setup(gateway);
    await handlePaymentEvent(orderValidated('tok_decline'), ports);

    // Act
    await handlePaymentEvent(orderValidated('tok_decline'), ports);

    // Assess
    expect(gateway.charges).toHaveLength(1);
    expect(publisher.published.map((e) => e.type)).toEqual(['PaymentFailed', 'PaymentFailed']);
    expect(publisher.published[1]).toEqual(publisher.published[0]);
  });

  it('reports the charge a concurrent delivery recorded first', async () => {
    // Prepare
    const gateway = new RecordingGateway();
    const { store, publisher, ports } = setup(gateway);
    store.beforeNextWrite = () => store.records.set(ORDER_ID, chargedRecord(`pay-${ORDER_ID}`, T0 + 7));

    // Act
    const outcome = await handlePaymentEvent(orderValidated(), ports);

    // Assess
    expect(outcome).toMatchObject({ status: 'CHARGED', changed: false });
    expect(gateway.refunds).toEqual([]);
    expect(publisher.published).toEqual([processed(`pay-${ORDER_ID}`, T0 + 7)]);
  });

  it('refunds a charge that landed after the order was cancelled, and emits both facts', async () => {
    // Prepare
    const gateway = new RecordingGateway();
    const { store, publisher, ports } = setup(gateway);
    gateway.duringNextCharge = () => store.records.set(ORDER_ID, structuredClone(cancelledRecord));

    // Act
    const outcome = await handlePaymentEvent(orderValidated(), ports);

    // Assess
    expect(outcome).toMatchObject({ status: 'REFUNDED', changed: true });
    expect(gateway.refunds).toEqual([
      { paymentId: `pay-${ORDER_ID}`, amountCents: 2500, currency: 'EUR', idempotencyKey: `${ORDER_ID}#refund` },
    ]);
    expect(store.record()).toMatchObject({ status: 'REFUNDED', paymentId: `pay-${ORDER_ID}` });
    expect(publisher.published.map((e) => e.type)).toEqual(['PaymentProcessed', 'PaymentRefunded']);
    expect(publisher.published[1]).toMatchObject({ reason: 'OUT_OF_STOCK', amountCents: 2500 });
  });

  it('finishes an owed refund when the late charge is redelivered after the refund failed', async () => {
    // Prepare
    const gateway = new RecordingGateway();
    const { store, publisher, ports } = setup(gateway);
    gateway.duringNextCharge = () => store.records.set(ORDER_ID, structuredClone(cancelledRecord));
    gateway.nextRefund = new GatewayUnavailableError('gateway down');
    await expect(handlePaymentEvent(orderValidated(), ports)).rejects.toThrow(GatewayUnavailableError);
    const owed = store.record();

    // Act
    const outcome = await handlePaymentEvent(orderValidated(), ports);

    // Assess
    expect(owed).toMatchObject({ status: 'CHARGED', refundReason: 'OUT_OF_STOCK' });
    expect(outcome).toMatchObject({ status: 'REFUNDED', changed: true });
    expect(gateway.charges).toHaveLength(1);
    expect(gateway.refunds).toHaveLength(2);
    expect(store.record()?.status).toBe('REFUNDED');
    expect(publisher.published.map((e) => e.type)).toEqual(['PaymentProcessed', 'PaymentRefunded']);
  });

  it('re-emits both the charge and its refund when redelivered after a refund', async () => {
    // Prepare
    const gateway = new RecordingGateway();
    const { publisher, ports } = setup(gateway);
    await handlePaymentEvent(orderValidated(), ports);
    await handlePaymentEvent(inventoryRejected, ports);

    // Act
    await handlePaymentEvent(orderValidated(), ports);

    // Assess
    expect(gateway.charges).toHaveLength(1);
    expect(gateway.refunds).toHaveLength(1);
    expect(publisher.published.map((e) => e.type)).toEqual([
      'PaymentProcessed',
      'PaymentRefunded',
      'PaymentProcessed',
      'PaymentRefunded',
    ]);
    expect(publisher.published.slice(2)).toEqual(publisher.published.slice(0, 2));
  });
});

describe('handlePaymentEvent on InventoryRejected', () => {
  it('refunds a charged order exactly once and re-emits the same PaymentRefunded', async () => {
    // Prepare
    const gateway = new RecordingGateway();
    const { store, publisher, ports } = setup(gateway);
    await handlePaymentEvent(orderValidated(), ports);

    // Act
    const first = await handlePaymentEvent(inventoryRejected, ports);
    const again = await handlePaymentEvent(inventoryRejected, ports);

    // Assess
    expect(first).toMatchObject({ status: 'REFUNDED', changed: true });
    expect(again).toMatchObject({ status: 'REFUNDED', changed: false });
    expect(gateway.refunds).toHaveLength(1);
    expect(store.record()).toMatchObject({ status: 'REFUNDED', refundReason: 'OUT_OF_STOCK', refundedAt: NOW + 1 });
    const refunds = publisher.published.filter((e) => e.type === 'PaymentRefunded');
    expect(refunds).toEqual([
      {
        type: 'PaymentRefunded',
        eventId: derivedId('process-payment', ORDER_ID, 'PaymentRefunded'),
        orderId: ORDER_ID,
        occurredAt: NOW + 1,
        correlationId: 'corr-1',
        paymentId: `pay-${ORDER_ID}`,
        amountCents: 2500,
        currency: 'EUR',
        reason: 'OUT_OF_STOCK',
      },
      refunds[0],
    ]);
  });

  it('cancels an order it has not charged, so the later OrderValidated charges nothing', async () => {
    // Prepare
    const gateway = new RecordingGateway();
    const { store, publisher, ports } = setup(gateway);

    // Act
    const cancelled = await handlePaymentEvent(inventoryRejected, ports);
    const validated = await handlePaymentEvent(orderValidated(), ports);

    // Assess
    expect(cancelled).toMatchObject({ status: 'CANCELLED', changed: true });
    expect(validated).toMatchObject({ status: 'CANCELLED', changed: false });
    expect(store.record()).toMatchObject({ status: 'CANCELLED', refundReason: 'OUT_OF_STOCK' });
    expect(gateway.charges).toEqual([]);
    expect(publisher.published).toEqual([]);
  });

  it('refunds a charge that was recorded while the cancellation was being written', async () => {
    // Prepare
    const gateway = new RecordingGateway();
    const { store, publisher, ports } = setup(gateway);
    store.beforeNextWrite = () => store.records.set(ORDER_ID, chargedRecord('pay-concurrent', T0));

    // Act
    const outcome = await handlePaymentEvent(inventoryRejected, ports);

    // Assess
    expect(outcome).toMatchObject({ status: 'REFUNDED', changed: true });
    expect(gateway.refunds.map((r) => r.paymentId)).toEqual(['pay-concurrent']);
    expect(publisher.published.map((e) => e.type)).toEqual(['PaymentRefunded']);
  });

  it('does nothing for a declined order', async () => {
    // Prepare
    const gateway = new RecordingGateway();
    gateway.nextCharge = new PaymentDeclinedError('card declined');
    const { store, publisher, ports } = setup(gateway);
    await handlePaymentEvent(orderValidated('tok_decline'), ports);

    // Act
    const outcome = await handlePaymentEvent(inventoryRejected, ports);

    // Assess
    expect(outcome).toMatchObject({ status: 'FAILED', changed: false });
    expect(gateway.refunds).toEqual([]);
    expect(store.record()?.status).toBe('FAILED');
    expect(publisher.published.map((e) => e.type)).toEqual(['PaymentFailed']);
  });

  it('fails when the refund cannot reach the gateway, leaving the charge to refund on retry', async () => {
    // Prepare
    const gateway = new RecordingGateway();
    const { store, publisher, ports } = setup(gateway);
    await handlePaymentEvent(orderValidated(), ports);
    gateway.nextRefund = new GatewayUnavailableError('gateway down');

    // Act
    await expect(handlePaymentEvent(inventoryRejected, ports)).rejects.toThrow(GatewayUnavailableError);
    const afterFailure = store.record()?.status;
    await handlePaymentEvent(inventoryRejected, ports);

    // Assess
    expect(afterFailure).toBe('CHARGED');
    expect(store.record()?.status).toBe('REFUNDED');
    expect(publisher.published.map((e) => e.type)).toEqual(['PaymentProcessed', 'PaymentRefunded']);
  });
});

describe('handlePaymentEvent on other events', () => {
  it('ignores event types it does not handle', async () => {
    // Prepare
    const gateway = new RecordingGateway();
    const { store, publisher, ports } = setup(gateway);
    const reserved = testEvent('InventoryReserved', { eventId: 'ev-reserved', orderId: ORDER_ID, occurredAt: T0 });

    // Act
    const outcome = await handlePaymentEvent(reserved, ports);

    // Assess
    expect(outcome).toEqual({ changed: false, published: [] });
    expect(store.records.size).toBe(0);
    expect(gateway.charges).toEqual([]);
    expect(publisher.published).toEqual([]);
  });
});

describe('prefetchPayments', () => {
  it('reads nothing for a batch with nothing to charge or refund', async () => {
    // Prepare
    const { store } = setup();

    // Act
    const prefetched = await prefetchPayments(store, [testEvent('InventoryReserved', { orderId: ORDER_ID })]);

    // Assess
    expect(prefetched).toBe(store);
    expect(store.reads).toBe(0);
  });

  it('charges once when the batch read saw no record and another delivery charged since', async () => {
    // Prepare: the batch read saw nothing; another invocation then charged the order.
    const gateway = new RecordingGateway();
    const { store, ports, publisher } = setup(gateway);
    const prefetched = await prefetchPayments(store, [orderValidatedEvent({ orderId: ORDER_ID })]);
    await handlePaymentEvent(orderValidatedEvent({ orderId: ORDER_ID }), ports);

    // Act
    const outcome = await handlePaymentEvent(orderValidatedEvent({ orderId: ORDER_ID }), {
      ...ports,
      store: prefetched,
    });

    // Assess: the gateway saw the same idempotency key twice (one charge at a real gateway), one record, the same event.
    expect(outcome).toMatchObject({ status: 'CHARGED', changed: false });
    expect(gateway.charges.map((c) => c.idempotencyKey)).toEqual([ORDER_ID, ORDER_ID]);
    expect(store.record()).toMatchObject({ status: 'CHARGED', paymentId: `pay-${ORDER_ID}` });
    expect(publisher.published[1]).toEqual(publisher.published[0]);
  });

  it('serves each order from the batch read once, so a duplicate in the batch never reaches the gateway', async () => {
    // Prepare
    const gateway = new RecordingGateway();
    const { store, ports } = setup(gateway);
    const event = orderValidatedEvent({ orderId: ORDER_ID });
    const prefetched = await prefetchPayments(store, [event, event]);

    // Act
    const first = await handlePaymentEvent(event, { ...ports, store: prefetched });
    const second = await handlePaymentEvent(event, { ...ports, store: prefetched });

    // Assess
    expect(first).toMatchObject({ status: 'CHARGED', changed: true });
    expect(second).toMatchObject({ status: 'CHARGED', changed: false });
    expect(gateway.charges).toHaveLength(1);
    expect(store.reads).toBe(2);
  });
});
