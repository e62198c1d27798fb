/**
 * validate-order Lambda: orders.raw in, each OrderPlaced priced from the CATALOG table, OrderValidated or
 * OrderRejected out on orders.validated. Wiring only: config, clients, ports, `createHandler`.
 */
import { documentClientFor } from '../../shared/aws-clients.js';
import { loadConfig } from '../../shared/config.js';
import { kafkaRuntime } from '../../shared/runtime.js';
import { dynamoCatalog } from './catalog-store.js';
import { CONSUMER } from './validate-order.js';
import { createHandler, type ValidateOrderDeps, validateOrderEnv } from './validate-order-handler.js';

/** Clients of the deployed function, created once per cold start; a missing variable throws `ConfigError`. */
export function defaultDeps(env: NodeJS.ProcessEnv = process.env): ValidateOrderDeps {
  const config = loadConfig(validateOrderEnv, env);
  const documentClient = documentClientFor(config.AWS_REGION);
  return {
    ...kafkaRuntime(config, CONSUMER),
    catalog: dynamoCatalog(documentClient, config.CATALOG_TABLE),
  };
}

/** Lambda entry point. */
export const handler = createHandler(defaultDeps());
