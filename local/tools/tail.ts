/**
 * `npm run tail -- --topic orders.validated` prints records as they arrive: key, headers and the value decoded
 * through the registry as JSON (emails masked). `--dlq` tails the dead-letter topic and shows each letter's reason,
 * consumer and source. `--from-beginning` replays what the topic holds first.
 */
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { EventCodec } from '../../shared/codec.js';
import { maskEmail } from '../../shared/observability.js';
import { registrySchemaSource } from '../../shared/schema-registry.js';
import { TOPIC_SPECS, TOPICS } from '../../shared/topology.js';
import { applyStackEnv } from '../stack/config.js';

/** Replaces every `email` field's value with its masked form, recursively. */
export function maskEmails(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskEmails);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, k === 'email' && typeof v === 'string' ? maskEmail(v) : maskEmails(v)]),
    );
  }
  return value;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      topic: { type: 'string' },
      dlq: { type: 'boolean', default: false },
      'from-beginning': { type: 'boolean', default: false },
    },
  });
  const topic = values.dlq ? TOPICS.ORDERS_DLQ : values.topic;
  const known = TOPIC_SPECS.map((t) => t.name as string);
  if (!topic || !known.includes(topic))
    throw new Error(`--topic must be one of ${known.join(', ')} (or use --dlq); got ${topic ?? 'nothing'}`);
  const config = applyStackEnv();
  const codec = new EventCodec(registrySchemaSource({ host: config.schemaRegistryUrl }));
  const kafka = new Kafka({ clientId: 'orderflow-tail', brokers: [...config.kafkaBrokers], logLevel: logLevel.ERROR });
  const consumer = kafka.consumer({ groupId: `orderflow-tail-${process.pid}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: values['from-beginning'] });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
      const where = `${topic}-${partition}@${message.offset}`;
      const key = message.key?.toString() ?? null;
      if (topic === TOPICS.ORDERS_DLQ) {
        console.log(
          `${where} key=${key} ${headers['dlq-reason']} from ${headers['dlq-source-topic']}-${headers['dlq-source-partition']}@${headers['dlq-source-offset']} by ${headers['dlq-consumer']} at ${headers['dlq-failed-at']}: ${headers['dlq-error']}`,
        );
        return;
      }
      try {
        const event = await codec.decode(message.value, { topic, partition, offset: message.offset });
        console.log(JSON.stringify({ where, key, headers, value: maskEmails(event) }));
      } catch (error) {
        console.log(JSON.stringify({ where, key, headers, undecodable: (error as Error).message }));
      }
    },
  });
  const stop = async () => {
    await consumer.disconnect();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(`tail: ${(error as Error).message}`);
    process.exit(1);
  });
}
