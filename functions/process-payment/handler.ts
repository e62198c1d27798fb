/**
 * process-payment Lambda: orders.validated and inventory.events in, charges and refunds through the payment
 * gateway, the PAYMENTS table as the record of each, payment.events out. Wiring only: config, clients, ports,
 * `createHandler`.
 */
import { kafkaDynamoDeps } from '../../shared/runtime.js';
import { dynamoAttemptCounter, dynamoPaymentStore } from './payment-store.js';
import { createHandler, type ProcessPaymentDeps, processPaymentEnv } from './process-payment-handler.js';
import { simulatedGateway } from './simulated-gateway.js';

/** Clients of the deployed function, created once per cold start; a missing variable throws `ConfigError`. */
export function defaultDeps(env: NodeJS.ProcessEnv = process.env): ProcessPaymentDeps {
  return kafkaDynamoDeps(processPaymentEnv, 'process-payment', env, (config, documents) => ({
    store: dynamoPaymentStore(documents, config.PAYMENTS_TABLE),
    // The simulated gateway counts attempts in the PAYMENTS table.
    gateway: simulatedGateway(dynamoAttemptCounter(documents, config.PAYMENTS_TABLE)),
  }));
}

/** Lambda entry point. */
export const handler = createHandler(defaultDeps());
