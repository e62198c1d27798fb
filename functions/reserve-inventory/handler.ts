/**
 * reserve-inventory Lambda: orders.validated and payment.events in, stock taken or given back in the INVENTORY
 * table, inventory.events out. Wiring only: config, clients, ports, `createHandler`.
 */
import { kafkaDynamoDeps } from '../../shared/runtime.js';
import { dynamoInventoryStore } from './inventory-store.js';
import { createHandler, type ReserveInventoryDeps, reserveInventoryEnv } from './reserve-inventory-handler.js';

/** Clients of the deployed function, created once per cold start; a missing variable throws `ConfigError`. */
export function defaultDeps(env: NodeJS.ProcessEnv = process.env): ReserveInventoryDeps {
  return kafkaDynamoDeps(reserveInventoryEnv, 'reserve-inventory', env, (config, documents) => ({
    store: dynamoInventoryStore(documents, config.INVENTORY_TABLE),
  }));
}

/** Lambda entry point. */
export const handler = createHandler(defaultDeps());
