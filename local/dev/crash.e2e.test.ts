/**
 * Crash test on the local stack: the pipeline process is killed with SIGKILL while orders are in flight and
 * started again. Records after the last commit are delivered a second time; no order may take stock, payment
 * or email twice, and every order must still end in a final status. Needs `npm run stack:up`.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { localTableName, TABLES } from '../../shared/tables.js';
import { TOPICS } from '../../shared/topology.js';
import { localCodec } from '../stack/codec.js';
import { sentEmails } from '../stack/emails.js';
import { coreHealth } from '../stack/health.js';
import { applyFunctionEnv } from './pipeline.js';

const RUN = randomUUID().slice(0, 8);
const SKU = `SKU-E2E-CRASH-${RUN}`;
const STOCK = 1_000;
const ORDERS = 40;
const FINAL = ['CONFIRMED', 'CANCELLED', 'REJECTED'];

let doc: DynamoDBDocumentClient;
let producer: Producer;
let child: ChildProcess | undefined;

function startRunner(): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'local/dev/pipeline-main.ts'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '', KAFKAJS_NO_PARTITIONER_WARNING: '1' },
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('pipeline process did not get ready in 60 s')), 60_000);
    proc.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) {
        clearTimeout(timer);
        resolve(proc);
      }
    });
    proc.on('exit', (code) => reject(new Error(`pipeline process exited with ${code} before it was ready`)));
  });
}

async function statusOf(orderId: string): Promise<string | undefined> {
  const { Item } = await doc.send(new GetCommand({ TableName: localTableName(TABLES.ORDER_STATUS), Key: { orderId } }));
  return Item?.status as string | undefined;
}

async function emailsByOrder(endpoint: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const m of await sentEmails(endpoint)) {
    if (m.orderId) counts.set(m.orderId, (counts.get(m.orderId) ?? 0) + 1);
  }
  return counts;
}

beforeAll(async () => {
  const config = applyFunctionEnv();
  const down = (await coreHealth(config)).filter((s) => !s.healthy);
  if (down.length > 0)
    throw new Error(
      `the local stack is not running (${down.map((s) => s.service).join(', ')}): start it with npm run stack:up`,
    );
  doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  await doc.send(
    new PutCommand({
      TableName: localTableName(TABLES.CATALOG),
      Item: { pk: `SKU#${SKU}`, sku: SKU, name: SKU, prices: { EUR: 700 } },
    }),
  );
  await doc.send(
    new PutCommand({
      TableName: localTableName(TABLES.INVENTORY),
      Item: { pk: `SKU#${SKU}`, sku: SKU, available: STOCK },
    }),
  );
  producer = new Kafka({ brokers: [...config.kafkaBrokers], logLevel: logLevel.NOTHING }).producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
}, 60_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await producer?.disconnect();
});

describe('the local pipeline after a SIGKILL', () => {
  it('takes stock, payment and email once per order when batches are redelivered', async () => {
    const config = applyFunctionEnv();
    const codec = localCodec(config);
    const orders = Array.from({ length: ORDERS }, (_, i) => ({ orderId: randomUUID(), quantity: 1 + (i % 3) }));
    const messages = [];
    for (const { orderId, quantity } of orders) {
      const e = await codec.encode({
        type: 'OrderPlaced',
        eventId: randomUUID(),
        orderId,
        occurredAt: Date.now(),
        correlationId: randomUUID(),
        customerId: `crash-${RUN}`,
        email: `crash-${RUN}@example.com`,
        currency: 'EUR',
        items: [{ sku: SKU, quantity }],
        paymentToken: 'tok_visa',
      });
      messages.push({ key: e.key, value: e.value, headers: e.headers });
    }

    child = await startRunner();
    await producer.send({ topic: TOPICS.ORDERS_RAW, acks: -1, messages });
    // Kill once some orders are under way but not all are done.
    const killDeadline = Date.now() + 30_000;
    while (Date.now() < killDeadline) {
      const statuses = await Promise.all(orders.map((o) => statusOf(o.orderId)));
      if (statuses.some((s) => s !== undefined)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    child.kill('SIGKILL');
    await new Promise((resolve) => child?.once('exit', resolve));
    child = await startRunner();

    const deadline = Date.now() + 120_000;
    let statuses: (string | undefined)[] = [];
    while (Date.now() < deadline) {
      statuses = await Promise.all(orders.map((o) => statusOf(o.orderId)));
      if (statuses.every((s) => s !== undefined && FINAL.includes(s))) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const emails = await emailsByOrder(config.awsEndpointUrl);
    const { Item } = await doc.send(
      new GetCommand({ TableName: localTableName(TABLES.INVENTORY), Key: { pk: `SKU#${SKU}` } }),
    );
    const payments = await Promise.all(
      orders.map(
        async (o) =>
          (
            await doc.send(
              new GetCommand({ TableName: localTableName(TABLES.PAYMENTS), Key: { pk: `PAYMENT#${o.orderId}` } }),
            )
          ).Item,
      ),
    );

    expect(statuses).toEqual(orders.map(() => 'CONFIRMED'));
    expect(Number(Item?.available)).toBe(STOCK - orders.reduce((sum, o) => sum + o.quantity, 0));
    expect(payments.map((p) => [p?.status, p?.amountCents])).toEqual(orders.map((o) => ['CHARGED', 700 * o.quantity]));
    expect(orders.map((o) => emails.get(o.orderId) ?? 0)).toEqual(orders.map(() => 1));
  }, 240_000);
});
