/**
 * End to end on the local stack: orders placed through the HTTP API (or produced straight to Kafka) flow through
 * every function on the local event source and EventBridge poller. Needs `npm run stack:up` first.
 */

import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import type { EventCodec } from '../../shared/codec.js';
import { localTableName, TABLES } from '../../shared/tables.js';
import { TOPICS } from '../../shared/topology.js';
import { localCodec } from '../stack/codec.js';
import { type SentEmail, sentEmails } from '../stack/emails.js';
import { coreHealth } from '../stack/health.js';
import { type TailConsumer, tailTopics } from '../stack/testing.js';
import { applyFunctionEnv, type Pipeline, startPipeline } from './pipeline.js';
import { applySeed, readSeed } from './seed.js';

const FINAL = ['CONFIRMED', 'CANCELLED', 'REJECTED'];
const RUN = randomUUID().slice(0, 8);
const SKU = { RELEASE: `SKU-E2E-REL-${RUN}`, SHORT: `SKU-E2E-SHORT-${RUN}`, DUP: `SKU-E2E-DUP-${RUN}` };

let pipeline: Pipeline;
let baseUrl: string;
let doc: DynamoDBDocumentClient;
let producer: Producer;
let codec: EventCodec;
let dlqTail: TailConsumer;
const placed: string[] = [];

beforeAll(async () => {
  const config = applyFunctionEnv();
  const down = (await coreHealth(config)).filter((s) => !s.healthy);
  if (down.length > 0) {
    throw new Error(
      `the local stack is not running (${down.map((s) => `${s.service}: ${s.detail}`).join('; ')}): start it with npm run stack:up`,
    );
  }
  doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  await applySeed(
    doc,
    { catalog: localTableName(TABLES.CATALOG), inventory: localTableName(TABLES.INVENTORY) },
    readSeed(),
  );
  for (const [sku, stock] of [
    [SKU.RELEASE, 10],
    [SKU.SHORT, 1],
    [SKU.DUP, 100],
  ] as const) {
    await doc.send(
      new PutCommand({
        TableName: localTableName(TABLES.CATALOG),
        Item: { pk: `SKU#${sku}`, sku, name: sku, prices: { EUR: 1000, USD: 1100, GBP: 900 } },
      }),
    );
    await doc.send(
      new PutCommand({
        TableName: localTableName(TABLES.INVENTORY),
        Item: { pk: `SKU#${sku}`, sku, available: stock },
      }),
    );
  }
  dlqTail = await tailTopics(config.kafkaBrokers, [TOPICS.ORDERS_DLQ]);
  pipeline = await startPipeline({ httpPort: 0 });
  const address = pipeline.server?.address() as AddressInfo | undefined;
  if (!address) throw new Error('the pipeline serves no HTTP API');
  baseUrl = `http://127.0.0.1:${address.port}`;
  const kafka = new Kafka({ brokers: [...config.kafkaBrokers], logLevel: logLevel.NOTHING });
  producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  codec = localCodec(config);
}, 120_000);

afterAll(async () => {
  await producer?.disconnect();
  await dlqTail?.stop();
  await pipeline?.stop();
}, 60_000);

async function postOrder(
  items: { sku: string; quantity: number }[],
  extra: Record<string, unknown> = {},
): Promise<string> {
  const response = await fetch(`${baseUrl}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      customerId: `cust-${RUN}`,
      email: `e2e-${RUN}@example.com`,
      currency: 'EUR',
      items,
      ...extra,
    }),
  });
  const body = (await response.json()) as { orderId: string; status: string };
  expect({ status: response.status, body: body.status }).toEqual({ status: 202, body: 'PLACED' });
  placed.push(body.orderId);
  return body.orderId;
}

type OrderView = { status: string; reason?: string; history: { status: string }[] };

async function finalOrder(orderId: string, timeoutMs = 60_000): Promise<OrderView> {
  const deadline = Date.now() + timeoutMs;
  let last: OrderView | undefined;
  while (Date.now() < deadline) {
    const response = await fetch(`${baseUrl}/orders/${orderId}`);
    if (response.status === 200) {
      last = (await response.json()) as OrderView;
      if (FINAL.includes(last.status)) return last;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`order ${orderId} did not reach a final status in ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
}

async function emailsFor(orderId: string): Promise<SentEmail[]> {
  return (await sentEmails(pipeline.config.awsEndpointUrl)).filter((m) => m.orderId === orderId);
}

async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!accept(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    value = await read();
  }
  return value;
}

async function available(sku: string): Promise<number> {
  const { Item } = await doc.send(
    new GetCommand({ TableName: localTableName(TABLES.INVENTORY), Key: { pk: `SKU#${sku}` } }),
  );
  return Number(Item?.available);
}

async function paymentStatus(orderId: string): Promise<string | undefined> {
  const { Item } = await doc.send(
    new GetCommand({ TableName: localTableName(TABLES.PAYMENTS), Key: { pk: `PAYMENT#${orderId}` } }),
  );
  return Item?.status as string | undefined;
}

describe('the local pipeline', () => {
  it.concurrent('confirms a good order and sends exactly one confirmation email', async () => {
    const orderId = await postOrder([{ sku: 'SKU-BOOK', quantity: 2 }], { paymentToken: 'tok_visa' });

    const order = await finalOrder(orderId);
    const emails = await eventually(
      () => emailsFor(orderId),
      (e) => e.length > 0,
    );
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    expect(order.status).toBe('CONFIRMED');
    expect(order.history.map((h) => h.status)).toContain('CONFIRMED');
    expect(emails).toHaveLength(1);
    expect(await emailsFor(orderId)).toEqual([expect.objectContaining({ template: 'orderflow-order-confirmed' })]);
  }, 90_000);

  it.concurrent('cancels a declined order with PAYMENT_DECLINED and releases its stock', async () => {
    const before = await available(SKU.RELEASE);

    const orderId = await postOrder([{ sku: SKU.RELEASE, quantity: 3 }], { paymentToken: 'tok_decline' });
    const order = await finalOrder(orderId);
    const after = await eventually(
      () => available(SKU.RELEASE),
      (n) => n === before,
    );

    expect(order).toMatchObject({ status: 'CANCELLED', reason: 'PAYMENT_DECLINED' });
    expect(after).toBe(before);
    expect(
      await eventually(
        () => emailsFor(orderId),
        (e) => e.length > 0,
      ),
    ).toEqual([expect.objectContaining({ template: 'orderflow-order-cancelled' })]);
  }, 90_000);

  it.concurrent('cancels an order without enough stock with OUT_OF_STOCK and leaves no charge behind', async () => {
    const orderId = await postOrder([{ sku: SKU.SHORT, quantity: 5 }], { paymentToken: 'tok_visa' });

    const order = await finalOrder(orderId);
    const payment = await eventually(
      () => paymentStatus(orderId),
      (s) => s === 'REFUNDED' || s === 'CANCELLED',
    );

    expect(order).toMatchObject({ status: 'CANCELLED', reason: 'OUT_OF_STOCK' });
    expect(['REFUNDED', 'CANCELLED']).toContain(payment);
    expect(await available(SKU.SHORT)).toBe(1);
  }, 90_000);

  it.concurrent('rejects an order for an unknown SKU', async () => {
    const orderId = await postOrder([{ sku: `SKU-NOPE-${RUN}`, quantity: 1 }]);

    expect(await finalOrder(orderId)).toMatchObject({ status: 'REJECTED', reason: 'UNKNOWN_SKU' });
  }, 90_000);

  it.concurrent('confirms a tok_flaky order after the event source retries the payment', async () => {
    const orderId = await postOrder([{ sku: 'SKU-MUG', quantity: 1 }], { paymentToken: 'tok_flaky' });

    expect(await finalOrder(orderId)).toMatchObject({ status: 'CONFIRMED' });
    expect(await paymentStatus(orderId)).toBe('CHARGED');
  }, 90_000);

  it.concurrent('dead-letters poison records with their reason while the order behind them in the partition completes', async () => {
    const orderId = randomUUID();
    const key = Buffer.from(orderId);
    const good = await codec.encode({
      type: 'OrderPlaced',
      eventId: randomUUID(),
      orderId,
      occurredAt: Date.now(),
      correlationId: randomUUID(),
      customerId: `cust-${RUN}`,
      email: `e2e-${RUN}@example.com`,
      currency: 'EUR',
      items: [{ sku: 'SKU-STICKERS', quantity: 1 }],
      paymentToken: null,
    });
    const unknownId = Buffer.from(good.value);
    unknownId.writeUInt32BE(987_654, 1);

    await producer.send({
      topic: TOPICS.ORDERS_RAW,
      acks: -1,
      messages: [
        { key, value: Buffer.from('definitely not avro') },
        { key, value: unknownId },
        { key, value: null },
        { key, value: good.value, headers: good.headers },
      ],
    });
    placed.push(orderId);
    const order = await finalOrder(orderId);
    const letters = await dlqTail.until(
      (records) =>
        records.filter(
          (r) =>
            r.message.key?.toString() === orderId &&
            r.message.headers?.['dlq-consumer']?.toString() === 'validate-order',
        ).length >= 3,
      60_000,
    );

    expect(order.status).toBe('CONFIRMED');
    const reasons = letters
      .filter(
        (r) =>
          r.message.key?.toString() === orderId && r.message.headers?.['dlq-consumer']?.toString() === 'validate-order',
      )
      .map((r) => r.message.headers?.['dlq-reason']?.toString());
    expect(reasons).toEqual(['DESERIALIZATION_ERROR', 'SCHEMA_NOT_FOUND', 'DESERIALIZATION_ERROR']);
  }, 90_000);

  it.concurrent('takes stock, payment and email once when the same order is produced twice', async () => {
    const before = await available(SKU.DUP);
    const orderId = randomUUID();
    const encoded = await codec.encode({
      type: 'OrderPlaced',
      eventId: randomUUID(),
      orderId,
      occurredAt: Date.now(),
      correlationId: randomUUID(),
      customerId: `cust-${RUN}`,
      email: `e2e-${RUN}@example.com`,
      currency: 'EUR',
      items: [{ sku: SKU.DUP, quantity: 4 }],
      paymentToken: 'tok_visa',
    });
    const message = { key: encoded.key, value: encoded.value, headers: encoded.headers };

    await producer.send({ topic: TOPICS.ORDERS_RAW, acks: -1, messages: [message, message] });
    placed.push(orderId);
    const order = await finalOrder(orderId);
    await eventually(
      () => emailsFor(orderId),
      (e) => e.length > 0,
    );
    await new Promise((resolve) => setTimeout(resolve, 3_000));

    expect(order.status).toBe('CONFIRMED');
    expect(await available(SKU.DUP)).toBe(before - 4);
    expect(await paymentStatus(orderId)).toBe('CHARGED');
    expect(await emailsFor(orderId)).toHaveLength(1);
  }, 90_000);

  it('ends every order it placed in a final status (count in = count out)', async () => {
    const statuses = await Promise.all(placed.map((id) => finalOrder(id).then((o) => o.status)));

    expect(statuses).toHaveLength(placed.length);
    expect(statuses.every((s) => FINAL.includes(s))).toBe(true);
  }, 120_000);
});
