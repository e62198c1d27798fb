/**
 * Kafka clients for the functions and local tools: one idempotent producer per process (acks from all
 * in-sync replicas), over SASL OAUTHBEARER with IAM on MSK or plaintext locally.
 */
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { KafkaConfig, LogEntry, Producer } from 'kafkajs';
import { abandonedOnAbort } from './abort.js';
import type { EncodeContext, EventCodec } from './codec.js';
import type { KafkaEnv } from './config.js';
import type { OrderflowEvent } from './events.js';
import { sentPerInvocation } from './invocation-outbox.js';
import { KAFKA_LOG_LEVELS, KAFKA_PARTITIONERS, kafkaProducer } from './kafkajs-producer.js';
import type { DeadLetter, DeadLetterSink } from './msk.js';
import { mskAuthToken } from './msk-iam-token.js';
import { TOPICS } from './topology.js';

/** How to reach the brokers. */
export interface KafkaConnection {
  /** Bootstrap servers. */
  readonly brokers: readonly string[];
  /** `iam`: TLS + SASL OAUTHBEARER signed with the function's role (MSK Serverless, port 9098). */
  readonly auth: 'iam' | 'none';
  readonly region: string;
  readonly clientId: string;
}

/**
 * The connection a function's Kafka variables describe.
 *
 * @example
 * const producer = kafkaRecordProducer(kafkaConnectionOf(loadConfig(kafkaEnv), 'order-api'));
 */
export function kafkaConnectionOf(config: KafkaEnv, clientId: string): KafkaConnection {
  return {
    brokers: config.KAFKA_BROKERS.split(',').map((b) => b.trim()),
    auth: config.KAFKA_AUTH,
    region: config.AWS_REGION,
    clientId,
  };
}

/**
 * kafkajs ERROR lines that only say a broker is still electing or loading a coordinator (a fresh broker, a
 * restarted one, a moved group), or that a transaction's coordinator is still writing the previous transaction's
 * commit markers (CONCURRENT_TRANSACTIONS, error 51: back-to-back transactions of one producer, as the DLQ redrive
 * commits one per batch; the broker expects the client to retry, and kafkajs does): no error of ours.
 */
const TRANSIENT_KAFKA_ERROR =
  /coordinator is not available|coordinator is loading|not the correct coordinator|rebalanc|another concurrent operation on the same transaction/i;

/**
 * kafkajs' ERROR lines, as kafkajs writes them (one JSON line on stderr) or to `log`, but for the transient
 * coordinator errors it retries by itself: a clean start prints no ERROR.
 *
 * @example
 * new Kafka({ ...config, logCreator: kafkaErrorLog() });
 */
export function kafkaErrorLog(log?: (message: string) => void): NonNullable<KafkaConfig['logCreator']> {
  return () =>
    ({ namespace, level, log: entry }: LogEntry) => {
      if (level !== KAFKA_LOG_LEVELS.ERROR) return;
      const message = `${namespace ? `[${namespace}] ` : ''}${entry.message}`;
      const text = `${message}${entry.error ? `: ${entry.error}` : ''}`;
      if (TRANSIENT_KAFKA_ERROR.test(text)) return;
      if (log) log(`kafkajs: ${text}`);
      else console.error(JSON.stringify({ level: 'ERROR', ...entry, message }));
    };
}

/** kafkajs client configuration for a connection. */
export function kafkaConfig(connection: KafkaConnection): KafkaConfig {
  const config: KafkaConfig = {
    clientId: connection.clientId,
    brokers: [...connection.brokers],
    // ERROR, not WARN: kafkajs warns at every cold start that bounded retries weaken idempotence, which we accept
    // (a producer that retries forever would hold a Lambda invocation to its timeout).
    logLevel: KAFKA_LOG_LEVELS.ERROR,
    logCreator: kafkaErrorLog(),
    retry: { retries: 5, initialRetryTime: 100 },
  };
  if (connection.auth === 'iam') {
    // One credential chain per client (the SDK's memoizes and refreshes), not a new one for every token kafkajs
    // asks for at each broker connection and re-authentication.
    const credentials = defaultProvider();
    return {
      ...config,
      ssl: true,
      sasl: {
        mechanism: 'oauthbearer',
        oauthBearerProvider: async () => {
          const { token } = await mskAuthToken({ region: connection.region, credentials });
          return { value: token };
        },
      },
    };
  }
  return config;
}

/** Options of one send or publish. */
export interface SendOptions {
  /**
   * Gives the send up when it aborts: the promise rejects with the signal's reason, and nothing is produced that
   * was not already handed to kafkajs. What was (a produce request on the wire, or waiting for its retry) may still
   * be written afterwards: a broker cannot be asked to forget a record, so callers give records derived ids.
   *
   * @default - no deadline: the send ends when kafkajs's retries do
   */
  readonly signal?: AbortSignal;
}

/** Sends encoded records; what the functions' publish ports are built on. */
export interface RecordProducer {
  /**
   * Resolves once every record was acknowledged by all in-sync replicas; inside a Kafka invocation
   * (`withInvocationOutbox`), once they are queued for its produce at the end of the batch.
   */
  send(records: readonly ProducerRecord[], options?: SendOptions): Promise<void>;
  disconnect(): Promise<void>;
}

/** Options of `kafkaRecordProducer`. */
export interface RecordProducerOptions {
  /**
   * Longest a request to the broker may stay unanswered, in milliseconds, before kafkajs retries it; also the
   * acknowledgement timeout sent with each produce request. It bounds how long a send, even one a caller gave up
   * on, keeps kafkajs retrying against a broker that stopped answering: 6 attempts of a produce request and a
   * metadata refresh each, measured at 24 s for 2 000 ms; with the default, minutes.
   *
   * @default 30000 (kafkajs's own)
   */
  readonly requestTimeoutMs?: number;
}

/** One record to produce. */
export interface ProducerRecord {
  readonly topic: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * An idempotent kafkajs producer (without kafkajs' consumer and admin: shared/kafkajs-producer.ts) that connects on
 * first use and stays connected across invocations.
 *
 * @example
 * const producer = kafkaRecordProducer({ brokers: ['127.0.0.1:9092'], auth: 'none', region, clientId: 'order-api' });
 * await producer.send(records, { signal: AbortSignal.timeout(5_000) });
 */
export function kafkaRecordProducer(connection: KafkaConnection, options: RecordProducerOptions = {}): RecordProducer {
  const { requestTimeoutMs } = options;
  if (requestTimeoutMs !== undefined && !(Number.isInteger(requestTimeoutMs) && requestTimeoutMs > 0)) {
    throw new RangeError(`requestTimeoutMs must be a positive integer, got ${requestTimeoutMs}`);
  }
  const config: KafkaConfig = {
    ...kafkaConfig(connection),
    ...(requestTimeoutMs !== undefined ? { requestTimeout: requestTimeoutMs } : {}),
  };
  const producer: Producer = kafkaProducer(config, {
    idempotent: true,
    maxInFlightRequests: 1,
    // murmur2, as Java clients partition: an order keeps its partition whichever client produced it.
    createPartitioner: KAFKA_PARTITIONERS.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
  let connected: Promise<void> | undefined;
  const connect = () => {
    connected ??= producer.connect().catch((error: unknown) => {
      connected = undefined;
      throw error;
    });
    return connected;
  };
  // In a Kafka invocation, the records go out with the rest of its output once the batch is handled.
  return sentPerInvocation({
    async send(records, { signal } = {}) {
      if (records.length === 0) return;
      signal?.throwIfAborted();
      await abandonedOnAbort(connect(), signal);
      signal?.throwIfAborted();
      const byTopic = new Map<string, ProducerRecord[]>();
      for (const r of records) {
        const messages = byTopic.get(r.topic);
        if (messages) messages.push(r);
        else byTopic.set(r.topic, [r]);
      }
      await abandonedOnAbort(
        producer.sendBatch({
          acks: -1,
          ...(requestTimeoutMs !== undefined ? { timeout: requestTimeoutMs } : {}),
          topicMessages: [...byTopic].map(([topic, messages]) => ({
            topic,
            messages: messages.map((m) => ({ key: m.key, value: m.value, headers: { ...m.headers } })),
          })),
        }),
        signal,
      );
    },
    async disconnect() {
      if (connected) await producer.disconnect();
      connected = undefined;
    },
  });
}

/** Publishes domain events: encodes them and produces them, in order, to their topics. */
export interface EventPublisher {
  publish(events: readonly OrderflowEvent[], context?: EncodeContext, options?: SendOptions): Promise<void>;
}

/** An `EventPublisher` over a codec and a record producer. */
export function eventPublisher(codec: EventCodec, producer: RecordProducer): EventPublisher {
  return {
    async publish(events, context, options = {}) {
      const records = await abandonedOnAbort(Promise.all(events.map((e) => codec.encode(e, context))), options.signal);
      await producer.send(records, options);
    },
  };
}

/** A `DeadLetterSink` that produces to `orders.dlq`, keeping the original key and value bytes. */
export function kafkaDeadLetterSink(producer: RecordProducer): DeadLetterSink {
  return {
    async send(letter: DeadLetter) {
      await producer.send([{ topic: TOPICS.ORDERS_DLQ, ...letter }]);
    },
  };
}
