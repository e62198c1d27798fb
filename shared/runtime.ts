/** Module-scope clients for a Kafka-connected function, built once per cold start from validated config. */
import type { GlueClient } from '@aws-sdk/client-glue';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClientFor } from './aws-clients.js';
import { EventCodec } from './codec.js';
import { type KafkaEnv, loadConfig } from './config.js';
import { glueSchemaSource } from './glue-schema-source.js';
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

/** The registry variables of `kafkaEnv` that `codecFromConfig` reads. */
export type CodecConfig = Pick<KafkaEnv, 'SCHEMA_REGISTRY' | 'AWS_REGION'> &
  Partial<
    Pick<
      KafkaEnv,
      | 'GLUE_REGISTRY_NAME'
      | 'SCHEMA_REGISTRY_URL'
      | 'SCHEMA_REGISTRY_SECRET_ARN'
      | 'SCHEMA_REGISTRY_USERNAME'
      | 'SCHEMA_REGISTRY_PASSWORD'
    >
  >;

/** Clients `codecFromConfig` would otherwise create (tests pass mocked ones). */
export interface CodecClients {
  /** @default - a SecretsManagerClient for `AWS_REGION`, created only when `SCHEMA_REGISTRY_SECRET_ARN` is set */
  readonly secretsClient?: () => SecretsManagerClient;
  /** @default - a GlueClient for `AWS_REGION` (locally the SDK reads `AWS_ENDPOINT_URL_GLUE`) */
  readonly glueClient?: GlueClient;
}

/**
 * The codec the configuration describes: it encodes in the `SCHEMA_REGISTRY` wire format, decodes Glue-framed
 * records when `GLUE_REGISTRY_NAME` is set and Confluent-framed ones when `SCHEMA_REGISTRY_URL` is set (both during
 * a migration). The registry secret named by `SCHEMA_REGISTRY_SECRET_ARN`, if any, is read right away and cached.
 * Local tools call it with the local stack's values.
 *
 * @example
 * const codec = codecFromConfig({ SCHEMA_REGISTRY: 'glue', GLUE_REGISTRY_NAME: 'orderflow', AWS_REGION: 'us-east-1' });
 */
export function codecFromConfig(config: CodecConfig, clients: CodecClients = {}): EventCodec {
  const { SCHEMA_REGISTRY_URL: host, GLUE_REGISTRY_NAME: registryName } = config;
  const confluent = host
    ? registrySchemaSource({ host, auth: registryCredentialsOf(config, clients.secretsClient) })
    : undefined;
  const glue = registryName
    ? glueSchemaSource({ registryName, region: config.AWS_REGION, client: clients.glueClient })
    : undefined;
  return new EventCodec({ confluent, glue, encodeWith: config.SCHEMA_REGISTRY });
}

/**
 * Builds the codec (`codecFromConfig`), the idempotent producer, the event publisher and the dead-letter sink.
 * Nothing connects to Kafka until the first record is produced.
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
  const codec = codecFromConfig(config, { secretsClient });
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
