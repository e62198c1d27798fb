import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EventCodec, HEADERS, topicReaderSchema } from '../../shared/codec.js';
import type { OrderflowEvent } from '../../shared/events.js';
import { kafkaRecordProducer, type RecordProducer } from '../../shared/kafka.js';
import { eventTopics, registrySchemaSource } from '../../shared/schema-registry.js';
import { orderPlacedEvent, orderValidatedEvent, testEvent } from '../../shared/testing/fixtures.js';
import { EVENT_TYPES, type EventType, TOPICS, topicOf, valueSubject } from '../../shared/topology.js';
import { isCompatible, RegistryError, registerSchema } from '../provision/registry.js';
import type { StackConfig } from './config.js';
import { requireRunningStack } from './preflight.js';
import { type ConsumedRecord, tailTopics } from './testing.js';

/**
 * A valid event of `type`, keyed by an order id unique to this run. Its fields are the logic tests' (a valid
 * email, positive quantities), not random ones: the records stay on the real topics, and the next `npm run dev`
 * processes them, so a random email would become a poison bus event that dead-letters minutes later, in
 * whichever suite runs then.
 */
function validEvent(type: EventType, runId: string): OrderflowEvent {
  const keyed = { orderId: `${runId}-${type}`, eventId: `${runId}-${type}`, occurredAt: Date.now() };
  if (type === 'OrderPlaced') return orderPlacedEvent(keyed);
  if (type === 'OrderValidated') return orderValidatedEvent(keyed);
  return testEvent(type, keyed) as OrderflowEvent;
}

async function latestVersion(config: StackConfig, subject: string): Promise<{ id: number; schema: string }> {
  const response = await fetch(`${config.schemaRegistryUrl}/subjects/${subject}/versions/latest`);
  expect(response.status).toBe(200);
  return (await response.json()) as { id: number; schema: string };
}

describe('schema registry and topics of the local stack', () => {
  const runId = randomUUID();
  const sent = new Map<EventType, OrderflowEvent>();
  let config: StackConfig;
  let producer: RecordProducer | undefined;
  let consumed: ConsumedRecord[] = [];

  beforeAll(async () => {
    config = await requireRunningStack();
    // Prepare: one event of every type, encoded with the codec over the real registry.
    const codec = new EventCodec(registrySchemaSource({ host: config.schemaRegistryUrl }));
    for (const type of EVENT_TYPES) sent.set(type, validEvent(type, runId));
    const records = await Promise.all([...sent.values()].map((event) => codec.encode(event)));
    const tail = await tailTopics(config.kafkaBrokers, eventTopics());
    producer = kafkaRecordProducer({
      brokers: config.kafkaBrokers,
      auth: 'none',
      region: config.awsRegion,
      clientId: 'orderflow-int-schemas',
    });

    // Act: produce them to their topics and read them back.
    try {
      await producer.send(records);
      const ours = (r: ConsumedRecord) => r.message.key?.toString('utf8').startsWith(runId) ?? false;
      consumed = (await tail.until((all) => all.filter(ours).length >= records.length, 30_000)).filter(ours);
    } finally {
      await tail.stop();
    }
  }, 90_000);

  afterAll(async () => {
    await producer?.disconnect();
  });

  it('serves every topic value schema under <topic>-value with BACKWARD compatibility', async () => {
    for (const topic of eventTopics()) {
      // Act
      const latest = await latestVersion(config, valueSubject(topic));
      const compatibility = await fetch(`${config.schemaRegistryUrl}/config/${valueSubject(topic)}`);

      // Assess
      expect(JSON.parse(latest.schema)).toEqual(topicReaderSchema(topic));
      expect(compatibility.status).toBe(200);
      const level = (await compatibility.json()) as { compatibilityLevel?: string; compatibility?: string };
      expect(level.compatibilityLevel ?? level.compatibility).toBe('BACKWARD');
    }
  });

  it.each([...EVENT_TYPES])('round-trips %s through the registry and its topic with the codec', async (type) => {
    // Prepare: a fresh codec, so the writer schema is fetched from the registry by the id in the record.
    const codec = new EventCodec(registrySchemaSource({ host: config.schemaRegistryUrl }));
    const event = sent.get(type) as OrderflowEvent;
    const record = consumed.find((r) => r.message.key?.toString('utf8') === event.orderId);
    expect(record).toBeDefined();
    const { topic, partition, offset, message } = record as ConsumedRecord;

    // Act
    const decoded = await codec.decode(message.value, { topic, partition, offset });

    // Assess
    expect(decoded).toEqual(event);
    expect(topic).toBe(topicOf(type));
    expect(message.value?.readUInt32BE(1)).toBe((await latestVersion(config, valueSubject(topicOf(type)))).id);
    expect(message.headers?.[HEADERS.EVENT_TYPE]?.toString()).toBe(type);
  });

  it('fails when a schema change is not backward compatible: the registry refuses it with 409', async () => {
    // Prepare: a new required field without a default cannot be read from records written before it.
    const subject = valueSubject(TOPICS.ORDERS_RAW);
    const current = topicReaderSchema(TOPICS.ORDERS_RAW) as { fields: unknown[] };
    const breaking = { ...current, fields: [...current.fields, { name: 'loyaltyTier', type: 'string' }] };
    const before = await latestVersion(config, subject);

    // Act
    const attempt = registerSchema(config.schemaRegistryUrl, subject, JSON.stringify(breaking));

    // Assess
    await expect(attempt).rejects.toThrow(RegistryError);
    await expect(attempt).rejects.toMatchObject({ status: 409 });
    await expect(attempt).rejects.toThrow(/orders\.raw-value is incompatible/);
    expect((await latestVersion(config, subject)).id).toBe(before.id);
  });

  it('accepts a backward-compatible change (a new optional field with a default) in a compatibility check', async () => {
    // Prepare
    const subject = valueSubject(TOPICS.ORDERS_RAW);
    const current = topicReaderSchema(TOPICS.ORDERS_RAW) as { fields: unknown[] };
    const compatible = {
      ...current,
      fields: [...current.fields, { name: 'loyaltyTier', type: ['null', 'string'], default: null }],
    };

    // Act
    const verdict = await isCompatible(config.schemaRegistryUrl, subject, JSON.stringify(compatible));

    // Assess
    expect(verdict).toBe(true);
  });
});
