/**
 * order-analytics Lambda: orders.validated in (its own consumer group), per-minute and running totals per
 * currency in the ANALYTICS table, per-order EMF metrics out. Wiring only: config, clients, ports, `createHandler`.
 */
import { documentClientFor } from '../../shared/aws-clients.js';
import { loadConfig } from '../../shared/config.js';
import { kafkaRuntime } from '../../shared/runtime.js';
import { dynamoAnalyticsStore } from './analytics-store.js';
import { createHandler, type OrderAnalyticsDeps, orderAnalyticsEnv } from './order-analytics-handler.js';

/** Clients of the deployed function, created once per cold start; a missing variable throws `ConfigError`. */
export function defaultDeps(env: NodeJS.ProcessEnv = process.env): OrderAnalyticsDeps {
  const config = loadConfig(orderAnalyticsEnv, env);
  const documentClient = documentClientFor(config.AWS_REGION);
  return {
    ...kafkaRuntime(config, 'order-analytics'),
    store: dynamoAnalyticsStore(documentClient, config.ANALYTICS_TABLE),
  };
}

/** Lambda entry point. */
export const handler = createHandler(defaultDeps());
