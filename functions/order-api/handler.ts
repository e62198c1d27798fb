/**
 * Lambda entry of the order API: config, Kafka publisher and DynamoDB clients, wired once per cold start around
 * `createHandler` (`order-api-handler.ts`).
 */
import { documentClientFor, dynamoDbClientFor } from '../../shared/aws-clients.js';
import { loadConfig } from '../../shared/config.js';
import type { RecordProducer } from '../../shared/kafka.js';
import { kafkaRuntime } from '../../shared/runtime.js';
import { ORDER_API_TIMEOUT_SECONDS } from '../../shared/timeouts.js';
import { createHandler, type OrderApiDeps, type OrderApiHandler, orderApiEnv } from './order-api-handler.js';

// Processes hosting the handler themselves (local/dev/broker-outage.int.test.ts) build it from here.
export { createHandler };

/**
 * Longest the producer waits for one broker answer before retrying, a fifth of the function timeout: a stalled
 * request is retried inside the request's publish budget, and a send given up on at its deadline stops retrying
 * about 25 s later (measured against a stalled broker) rather than minutes later with kafkajs's 30 s default.
 */
const PRODUCE_REQUEST_TIMEOUT_MS = (ORDER_API_TIMEOUT_SECONDS * 1000) / 5;

/** What `defaultDeps` builds: the deps, and the producer behind their publisher. */
export interface DefaultDeps extends OrderApiDeps {
  /** Lambda never disconnects it (a frozen environment keeps its connection); a process hosting the handler does. */
  readonly producer: RecordProducer;
}

/** Clients and config of the deployed function, created once per cold start. */
export function defaultDeps(env: NodeJS.ProcessEnv = process.env): DefaultDeps {
  const config = loadConfig(orderApiEnv, env);
  const { producer, publisher } = kafkaRuntime(config, 'order-api', { requestTimeoutMs: PRODUCE_REQUEST_TIMEOUT_MS });
  const dynamoDbClient = dynamoDbClientFor(config.AWS_REGION);
  const documentClient = documentClientFor(config.AWS_REGION, dynamoDbClient);
  return { config, producer, publisher, documentClient, dynamoDbClient };
}

/** The Lambda entry; a missing variable fails the cold start with a `ConfigError` naming it. */
export const handler: OrderApiHandler = createHandler(defaultDeps());
