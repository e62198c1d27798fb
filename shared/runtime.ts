/** Module-scope clients for a Kafka-connected function, built once per cold start from validated config. */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClientFor } from './aws-clients.js';
import { EventCodec } from './codec.js';
import { type KafkaEnv, loadConfig } from './config.js';
import { ConfigError } from './errors.js';
import {
  type EventPublisher,
  eventPublisher,
  kafkaConnectionOf,
  kafkaDeadLetterSink,
  kafkaRecordProducer,
  type RecordProducer,
  type RecordProducerOptions,
} from './kafka.js';
import type { DeadLetterSink } from './msk.js';
import { registrySchemaSource } from './schema-registry.js';
import { registryCredentialsOf } from './secrets.js';
import type * as z from './zod.js';

/** The Kafka-side ports of a function. */
export interface KafkaRuntime {
  readonly codec: EventCodec;
  readonly producer: RecordProducer;
  readonly publisher: EventPublisher;
  readonly deadLetters: DeadLetterSink;
}

/**
 * Builds the codec (over the schema registry), the idempotent producer, the event publisher and the dead-letter
 * sink. Nothing connects to Kafka until the first record is produced; the registry secret named by
 * `SCHEMA_REGISTRY_SECRET_ARN`, if any, is read right away (cold start) and cached.
 *
 * @example
 * const config = loadConfig(z.extend(kafkaEnv, { CATALOG_TABLE: z.string() }));
 * const kafka = kafkaRuntime(config, 'validate-order');
 */
export function kafkaRuntime(
  config: KafkaEnv,
  clientId: string,
  producerOptions: RecordProducerOptions = {},
  secretsClient?: () => SecretsManagerClient,
): KafkaRuntime {
  const auth = registryCredentialsOf(config, secretsClient);
  if (!config.SCHEMA_REGISTRY_URL) {
    throw new ConfigError('SCHEMA_REGISTRY_URL is required: this build has no Glue codec yet');
  }
  const codec = new EventCodec(registrySchemaSource({ host: config.SCHEMA_REGISTRY_URL, auth }));
  const producer = kafkaRecordProducer(kafkaConnectionOf(config, clientId), producerOptions);
  return { codec, producer, publisher: eventPublisher(codec, producer), deadLetters: kafkaDeadLetterSink(producer) };
}

/**
 * The deps of a Kafka-connected function over DynamoDB, read once at cold start: `env` validated with `schema`
 * (a missing variable throws `ConfigError`), the Kafka runtime for `clientId`, and the ports `adapters` builds from
 * the config and one document client.
 *
 * @example
 * export const defaultDeps = (env = process.env): OrderAnalyticsDeps =>
 *   kafkaDynamoDeps(orderAnalyticsEnv, 'order-analytics', env, (config, documents) => ({
 *     store: dynamoAnalyticsStore(documents, config.ANALYTICS_TABLE),
 *   }));
 */
export function kafkaDynamoDeps<S extends z.ZodMiniType<KafkaEnv>, Ports>(
  schema: S,
  clientId: string,
  env: NodeJS.ProcessEnv,
  adapters: (config: z.infer<S>, documents: DynamoDBDocumentClient) => Ports,
): KafkaRuntime & Ports {
  const config = loadConfig(schema, env);
  return { ...kafkaRuntime(config, clientId), ...adapters(config, documentClientFor(config.AWS_REGION)) };
}
