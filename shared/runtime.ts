/** Module-scope clients for a Kafka-connected function, built once per cold start from validated config. */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { EventCodec } from './codec.js';
import type { KafkaEnv } from './config.js';
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
 * const config = loadConfig(kafkaEnv.extend({ CATALOG_TABLE: z.string() }));
 * const kafka = kafkaRuntime(config, 'validate-order');
 */
export function kafkaRuntime(
  config: KafkaEnv,
  clientId: string,
  producerOptions: RecordProducerOptions = {},
  secretsClient?: () => SecretsManagerClient,
): KafkaRuntime {
  const auth = registryCredentialsOf(config, secretsClient);
  const codec = new EventCodec(registrySchemaSource({ host: config.SCHEMA_REGISTRY_URL, auth }));
  const producer = kafkaRecordProducer(kafkaConnectionOf(config, clientId), producerOptions);
  return { codec, producer, publisher: eventPublisher(codec, producer), deadLetters: kafkaDeadLetterSink(producer) };
}
