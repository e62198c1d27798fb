/**
 * order-status Lambda: every order topic in, one status item per order in DynamoDB, final transitions out on
 * the EventBridge bus. Wiring only: config, clients, ports, `createHandler`.
 */
import { eventBridgeClientFor } from '../../shared/aws-clients.js';
import { kafkaDynamoDeps } from '../../shared/runtime.js';
import { eventBridgePublisher } from './bus-publisher.js';
import { createHandler, type OrderStatusDeps, orderStatusEnv } from './order-status-handler.js';
import { dynamoOrderStore } from './order-status-store.js';

/** Clients of the deployed function, created once per cold start; a missing variable throws `ConfigError`. */
export function defaultDeps(env: NodeJS.ProcessEnv = process.env): OrderStatusDeps {
  return kafkaDynamoDeps(orderStatusEnv, 'order-status', env, (config, documents) => ({
    store: dynamoOrderStore(documents, config.ORDER_STATUS_TABLE),
    bus: eventBridgePublisher(eventBridgeClientFor(config.AWS_REGION), config.EVENT_BUS_NAME),
  }));
}

/** Lambda entry point. */
export const handler = createHandler(defaultDeps());
