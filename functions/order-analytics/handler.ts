/**
 * order-analytics Lambda: orders.validated in (its own consumer group), per-minute and running totals per
 * currency in the ANALYTICS table, per-order EMF metrics out. Wiring only: config, clients, ports, `createHandler`.
 */
import { kafkaDynamoDeps } from '../../shared/runtime.js';
import { dynamoAnalyticsStore } from './analytics-store.js';
import { createHandler, type OrderAnalyticsDeps, orderAnalyticsEnv } from './order-analytics-handler.js';

/** Clients of the deployed function, created once per cold start; a missing variable throws `ConfigError`. */
export function defaultDeps(env: NodeJS.ProcessEnv = process.env): OrderAnalyticsDeps {
  return kafkaDynamoDeps(orderAnalyticsEnv, 'order-analytics', env, (config, documents) => ({
    store: dynamoAnalyticsStore(documents, config.ANALYTICS_TABLE),
  }));
}

/** Lambda entry point. */
export const handler = createHandler(defaultDeps());
