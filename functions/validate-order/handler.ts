/**
 * validate-order Lambda: orders.raw in, each OrderPlaced priced from the CATALOG table, OrderValidated or
 * OrderRejected out on orders.validated. Wiring only: config, clients, ports, `createHandler`.
 */
import { kafkaDynamoDeps } from '../../shared/runtime.js';
import { dynamoCatalog } from './catalog-store.js';
import { CONSUMER } from './validate-order.js';
import { createHandler, type ValidateOrderDeps, validateOrderEnv } from './validate-order-handler.js';

/** Clients of the deployed function, created once per cold start; a missing variable throws `ConfigError`. */
export function defaultDeps(env: NodeJS.ProcessEnv = process.env): ValidateOrderDeps {
  return kafkaDynamoDeps(validateOrderEnv, CONSUMER, env, (config, documents) => ({
    catalog: dynamoCatalog(documents, config.CATALOG_TABLE),
  }));
}

/** Lambda entry point. */
export const handler = createHandler(defaultDeps());
