/**
 * order-analytics Lambda: orders.validated in (its own consumer group), per-minute and running totals per
 * currency in the ANALYTICS table, per-order EMF metrics out. Wiring only: config, clients, ports, `createHandler`.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { kafkaRuntime } from '../../shared/runtime.js';
import { dynamoAnalyticsStore } from './analytics-store.js';
import { createHandler, loadOrderAnalyticsConfig, type OrderAnalyticsDeps } from './order-analytics-handler.js';

/** Clients of the deployed function, created once per cold start; a missing variable throws `ConfigError`. */
export function defaultDeps(env: NodeJS.ProcessEnv = process.env): OrderAnalyticsDeps {
  const config = loadOrderAnalyticsConfig(env);
  const kafka = kafkaRuntime(config, 'order-analytics');
  const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({ region: config.AWS_REGION }));
  return {
    codec: kafka.codec,
    deadLetters: kafka.deadLetters,
    store: dynamoAnalyticsStore(documentClient, config.ANALYTICS_TABLE),
  };
}

/** Lambda entry point. */
export const handler = createHandler(defaultDeps());
