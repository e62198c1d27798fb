/**
 * process-payment over its ports: the env schema and the `createHandler` the Lambda entry (`handler.ts`) and the
 * tests build on. No module-scope side effects.
 */
import { envSchemaOf } from '../../shared/functions.js';
import { sagaStepHandler } from '../../shared/lambda.js';
import type { KafkaRuntime } from '../../shared/runtime.js';
import type { FunctionName } from '../../shared/topology.js';
import type { PaymentGateway } from './payment-gateway.js';
import { handlePaymentEvent, type PaymentStore, prefetchPayments } from './process-payment.js';

const FUNCTION: FunctionName = 'process-payment';

/** Environment of process-payment, from its contract: the Kafka variables plus the payments table. */
export const processPaymentEnv = envSchemaOf('process-payment');

/** What `createHandler` needs; tests pass an in-memory Kafka and adapters over a mocked document client. */
export interface ProcessPaymentDeps extends Pick<KafkaRuntime, 'codec' | 'deadLetters' | 'publisher'> {
  /** The record of each charge and refund (the PAYMENTS table in AWS). */
  readonly store: PaymentStore;
  readonly gateway: PaymentGateway;
  /** Epoch milliseconds. @default - the system clock */
  readonly clock?: () => number;
}

/** The process-payment handler over `deps`. */
export function createHandler(deps: ProcessPaymentDeps) {
  const ports = { ...deps, clock: deps.clock ?? Date.now };
  return sagaStepHandler({
    consumer: FUNCTION,
    codec: deps.codec,
    deadLetters: deps.deadLetters,
    subject: 'payment',
    metricPrefix: 'Payments',
    // The records of the batch's orders in one BatchGetItem instead of a GetItem per record.
    readAhead: { read: (events) => prefetchPayments(deps.store, events), otherwise: deps.store },
    step: (event, trace, store) => handlePaymentEvent(event, { ...ports, store }, trace),
  });
}
