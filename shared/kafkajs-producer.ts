/**
 * A kafkajs producer built from kafkajs' producer and cluster modules alone, the way `Kafka#producer` builds it
 * (node_modules/kafkajs/src/index.js). The functions only produce, and kafkajs is CommonJS, so importing its root
 * bundles its consumer and admin clients too: 276 against 211 KiB minified, measured with esbuild. kafkajs 2.2.4
 * is its last release, and the modules used here are the ones its root requires; kafkajs-producer.test.ts checks
 * that this builds the same producer as `new Kafka(config).producer(options)` does.
 */
import type { KafkaConfig, Producer, ProducerConfig } from 'kafkajs';
import Cluster from 'kafkajs/src/cluster/index.js';
import InstrumentationEventEmitter from 'kafkajs/src/instrumentation/emitter.js';
import LoggerConsole from 'kafkajs/src/loggers/console.js';
import { createLogger, LEVELS } from 'kafkajs/src/loggers/index.js';
import defaultSocketFactory from 'kafkajs/src/network/socketFactory.js';
import createProducer from 'kafkajs/src/producer/index.js';
import partitioners from 'kafkajs/src/producer/partitioners/index.js';

/** kafkajs' log levels (its `logLevel`), without its root module. */
export const KAFKA_LOG_LEVELS = LEVELS;

/** kafkajs' partitioners (its `Partitioners`), without its root module. */
export const KAFKA_PARTITIONERS = partitioners;

/** kafkajs' default metadata max age (src/index.js). */
const DEFAULT_METADATA_MAX_AGE = 300_000;

/**
 * `new Kafka(config).producer(options)`, with kafkajs' defaults (1 s connection timeout, enforced request timeout,
 * INFO level and the console logger unless given), but for the default partitioner, which must be chosen:
 * kafkajs warns at every cold start otherwise.
 *
 * @example
 * const producer = kafkaProducer(kafkaConfig(connection), { idempotent: true, createPartitioner: KAFKA_PARTITIONERS.DefaultPartitioner });
 */
export function kafkaProducer(
  config: KafkaConfig,
  options: ProducerConfig & Required<Pick<ProducerConfig, 'createPartitioner'>>,
): Producer {
  const logger = createLogger({
    level: config.logLevel ?? LEVELS.INFO,
    logCreator: config.logCreator ?? LoggerConsole,
  });
  const instrumentationEmitter = new InstrumentationEventEmitter();
  const cluster = new Cluster({
    logger,
    retry: config.retry,
    offsets: new Map(),
    socketFactory: config.socketFactory ?? defaultSocketFactory(),
    brokers: config.brokers,
    ssl: config.ssl,
    sasl: config.sasl,
    clientId: config.clientId,
    connectionTimeout: config.connectionTimeout ?? 1000,
    authenticationTimeout: config.authenticationTimeout,
    reauthenticationThreshold: config.reauthenticationThreshold,
    requestTimeout: config.requestTimeout,
    enforceRequestTimeout: config.enforceRequestTimeout ?? true,
    metadataMaxAge: options.metadataMaxAge ?? DEFAULT_METADATA_MAX_AGE,
    instrumentationEmitter,
    allowAutoTopicCreation: options.allowAutoTopicCreation ?? true,
    maxInFlightRequests: options.maxInFlightRequests ?? null,
  });
  return createProducer({
    retry: { ...config.retry, ...options.retry },
    logger,
    cluster,
    createPartitioner: options.createPartitioner,
    idempotent: options.idempotent,
    transactionalId: options.transactionalId,
    transactionTimeout: options.transactionTimeout,
    instrumentationEmitter,
  });
}
