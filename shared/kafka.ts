/**
 * Kafka clients for the functions and local tools: one idempotent producer per process (acks from all
 * in-sync replicas), over SASL OAUTHBEARER with IAM on MSK or plaintext locally.
 */
import { generateAuthToken } from 'aws-msk-iam-sasl-signer-js';
import { Kafka, type KafkaConfig, logLevel, Partitioners, type Producer } from 'kafkajs';
import type { EncodeContext, EventCodec } from './codec.js';
import type { OrderflowEvent } from './events.js';
import type { DeadLetter, DeadLetterSink } from './msk.js';
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

/** kafkajs client configuration for a connection. */
export function kafkaConfig(connection: KafkaConnection): KafkaConfig {
  const config: KafkaConfig = {
    clientId: connection.clientId,
    brokers: [...connection.brokers],
    // ERROR, not WARN: kafkajs warns at every cold start that bounded retries weaken idempotence, which we accept
    // (a producer that retries forever would hold a Lambda invocation to its timeout).
    logLevel: logLevel.ERROR,
    retry: { retries: 5, initialRetryTime: 100 },
  };
  if (connection.auth === 'iam') {
    return {
      ...config,
      ssl: true,
      sasl: {
        mechanism: 'oauthbearer',
        oauthBearerProvider: async () => {
          const { token } = await generateAuthToken({ region: connection.region });
          return { value: token };
        },
      },
    };
  }
  return config;
}

/** Sends encoded records; what the functions' publish ports are built on. */
export interface RecordProducer {
  /** Resolves once every record was acknowledged by all in-sync replicas. */
  send(records: readonly ProducerRecord[]): Promise<void>;
  disconnect(): Promise<void>;
}

/** One record to produce. */
export interface ProducerRecord {
  readonly topic: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * An idempotent kafkajs producer that connects on first use and stays connected across invocations.
 *
 * @example
 * const producer = kafkaRecordProducer({ brokers: ['127.0.0.1:9092'], auth: 'none', region, clientId: 'order-api' });
 */
export function kafkaRecordProducer(connection: KafkaConnection): RecordProducer {
  const kafka = new Kafka(kafkaConfig(connection));
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    // murmur2, as Java clients partition: an order keeps its partition whichever client produced it.
    createPartitioner: Partitioners.DefaultPartitioner,
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
  return {
    async send(records) {
      if (records.length === 0) return;
      await connect();
      const byTopic = new Map<string, ProducerRecord[]>();
      for (const r of records) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r]);
      await producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({
          topic,
          messages: messages.map((m) => ({ key: m.key, value: m.value, headers: { ...m.headers } })),
        })),
      });
    },
    async disconnect() {
      if (connected) await producer.disconnect();
      connected = undefined;
    },
  };
}

/** Publishes domain events: encodes them and produces them, in order, to their topics. */
export interface EventPublisher {
  publish(events: readonly OrderflowEvent[], context?: EncodeContext): Promise<void>;
}

/** An `EventPublisher` over a codec and a record producer. */
export function eventPublisher(codec: EventCodec, producer: RecordProducer): EventPublisher {
  return {
    async publish(events, context) {
      const records = await Promise.all(events.map((e) => codec.encode(e, context)));
      await producer.send(records);
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
