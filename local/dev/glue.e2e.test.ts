/**
 * `ORDERFLOW_SCHEMA_REGISTRY=glue npm run dev` end to end on the local stack: the functions write Glue-framed
 * records (header version 3, a schema-version UUID the Glue emulator knows), an order placed through the HTTP API
 * reaches CONFIRMED with one email, and a Confluent-framed record produced into the same stream (a migration's
 * older producer) is read too. Needs `npm run stack:up` first.
 */
import { randomUUID } from 'node:crypto';
import { GetSchemaVersionCommand, GlueClient } from '@aws-sdk/client-glue';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { createOrderflowClient, type OrderflowClient } from '../../shared/client.js';
import type { EventOf } from '../../shared/events.js';
import { codecFromConfig } from '../../shared/runtime.js';
import { TEMPLATE_NAMES } from '../../shared/template-names.js';
import { TOPICS } from '../../shared/topology.js';
import { LOCAL_GLUE_REGISTRY_NAME, type StackConfig } from '../stack/config.js';
import { sentEmails } from '../stack/emails.js';
import { type ConsumedRecord, type TailConsumer, tailTopics } from '../stack/testing.js';
import { applyFunctionEnv } from './pipeline.js';
import { type DevServer, placeTestOrder, useDevServer } from './testing.js';

const GLUE_HEADER_VERSION = 3;

let config: StackConfig;
let dev: DevServer;
let client: OrderflowClient;
let tail: TailConsumer;
let producer: Producer;

beforeAll(async () => {
  config = applyFunctionEnv();
  dev = await useDevServer({ env: { ORDERFLOW_SCHEMA_REGISTRY: 'glue' } });
  client = createOrderflowClient({ baseUrl: dev.baseUrl });
  tail = await tailTopics(config.kafkaBrokers, [TOPICS.ORDERS_RAW, TOPICS.ORDERS_VALIDATED]);
  producer = new Kafka({
    clientId: 'glue-e2e',
    brokers: [...config.kafkaBrokers],
    logLevel: logLevel.NOTHING,
  }).producer({
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
}, 240_000);

afterAll(async () => {
  await producer?.disconnect();
  await tail?.stop();
  await dev?.stop();
}, 60_000);

/** Waits until the order is final and returns its status. */
async function finalStatus(orderId: string, timeoutMs = 90_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const order = await client.getOrder(orderId).catch(() => undefined);
    if (order && ['CONFIRMED', 'CANCELLED', 'REJECTED'].includes(order.status)) return order.status;
    if (Date.now() > deadline) throw new Error(`order ${orderId} not final after ${timeoutMs} ms (${order?.status})`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The emails sent for `orderId` so far. */
async function emailsOf(orderId: string) {
  return (await sentEmails(config.awsEndpointUrl)).filter((e) => e.orderId === orderId);
}

/**
 * The emails of `orderId` once the first has come (it follows the status through the bus and its rule's queue,
 * at most 60 s), and 2 s more for a second one that should not come.
 */
async function oneEmailFor(orderId: string) {
  const deadline = Date.now() + 60_000;
  while ((await emailsOf(orderId)).length === 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  return emailsOf(orderId);
}

/** The schema-version UUID of a Glue-framed value (bytes 2..17). */
function versionIdOf(value: Buffer): string {
  const hex = value.subarray(2, 18).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

describe('npm run dev in Glue mode', () => {
  it.concurrent('writes Glue-framed records whose versions the Glue registry holds, and confirms the order with one email', async () => {
    // Act
    const orderId = await placeTestOrder(client, { customerId: 'c-e2e-glue' });
    const status = await finalStatus(orderId);
    const records = await tail.until(
      (seen) => seen.filter((r) => r.message.key?.toString() === orderId).length >= 2,
      30_000,
    );

    // Assess
    expect(status).toBe('CONFIRMED');
    const mine = records.filter((r: ConsumedRecord) => r.message.key?.toString() === orderId);
    expect(mine.map((r) => r.topic).sort()).toEqual([TOPICS.ORDERS_RAW, TOPICS.ORDERS_VALIDATED]);
    const glue = new GlueClient({ region: config.awsRegion });
    for (const record of mine) {
      const value = record.message.value as Buffer;
      expect({ topic: record.topic, header: value.readUInt8(0), compression: value.readUInt8(1) }).toEqual({
        topic: record.topic,
        header: GLUE_HEADER_VERSION,
        compression: 0,
      });
      const version = await glue.send(new GetSchemaVersionCommand({ SchemaVersionId: versionIdOf(value) }));
      expect(version.Status).toBe('AVAILABLE');
      expect(version.SchemaArn).toContain(`schema/${LOCAL_GLUE_REGISTRY_NAME}/${record.topic}-value`);
    }
    glue.destroy();
    expect((await oneEmailFor(orderId)).map((e) => e.template)).toEqual([TEMPLATE_NAMES.CONFIRMED]);
  }, 120_000);

  it.concurrent('reads a Confluent-framed record in the same stream (a migration) and confirms its order', async () => {
    // Prepare: an older producer still writing the Confluent format.
    const confluent = codecFromConfig({
      SCHEMA_REGISTRY: 'confluent',
      SCHEMA_REGISTRY_URL: config.schemaRegistryUrl,
      AWS_REGION: config.awsRegion,
    });
    const orderId = randomUUID();
    const event: EventOf<'OrderPlaced'> = {
      type: 'OrderPlaced',
      eventId: randomUUID(),
      orderId,
      occurredAt: Date.now(),
      correlationId: randomUUID(),
      customerId: 'c-e2e-glue-migration',
      email: 'ada@example.com',
      currency: 'EUR',
      items: [{ sku: 'SKU-BOOK', quantity: 1 }],
      paymentToken: 'tok_visa',
    };
    const record = await confluent.encode(event);
    expect(record.value.readUInt8(0)).toBe(0);

    // Act
    await producer.send({
      topic: record.topic,
      messages: [{ key: record.key, value: record.value, headers: record.headers }],
    });

    // Assess
    expect(await finalStatus(orderId)).toBe('CONFIRMED');
    expect((await oneEmailFor(orderId)).map((e) => e.template)).toEqual([TEMPLATE_NAMES.CONFIRMED]);
  }, 120_000);
});
