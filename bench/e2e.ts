/**
 * End-to-end benchmark (`npm run bench -- --e2e`, needs `npm run stack:up`): offers a steady load of orders to
 * `POST /orders` on the local pipeline and measures, per order, the time from the request to the OrderConfirmed
 * event reaching its subscriber (send-order-email) — which is after order-status recorded CONFIRMED. In the same
 * run, at the same rate, it measures a bare kafkajs produce-then-consume round trip on the same broker, the floor
 * any Kafka pipeline stands on. Bounded: `E2E_RATE` orders/s (default 20) for `E2E_SECONDS` (default 20).
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { startPipeline } from '../local/dev/pipeline.js';
import { applySeed, readSeed } from '../local/dev/seed.js';
import { coreHealth } from '../local/stack/health.js';
import { percentile } from '../local/tools/audit.js';
import { localTableName, TABLES } from '../shared/tables.js';

const RATE = Number(process.env.E2E_RATE ?? 20);
const SECONDS = Number(process.env.E2E_SECONDS ?? 20);

// The percentile helper moved to the shared audit module; re-exported for existing importers.
export { percentile };

/** Calls `send(i)` for i = 0..total-1 at `rate` per second, open loop (never waiting for one before the next). */
export async function paced(total: number, rate: number, send: (i: number) => Promise<void>): Promise<void> {
  const started = Date.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i += 1) {
    const due = started + (i * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(send(i));
  }
  await Promise.all(pending);
}

/** Polls `done` every 50 ms until it holds or `timeoutMs` passes. */
export async function waitUntil(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}

/**
 * The bare kafkajs produce → consume round trip on `brokers`: `total` records produced open loop at `rate` per
 * second (idempotent producer, acks=all, one send per record, as order-api sends) to a fresh 6-partition topic,
 * consumed by one consumer; returns each record's produce-to-consume time in ms (deleting the topic after).
 */
export async function measureKafkaRoundTrip(
  brokers: readonly string[],
  rate: number,
  total: number,
  options: { readonly timeoutMs?: number } = {},
): Promise<number[]> {
  const kafka = new Kafka({ clientId: 'orderflow-bench', brokers: [...brokers], logLevel: logLevel.NOTHING });
  const topic = `orderflow.bench.${randomUUID().slice(0, 8)}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const consumer = kafka.consumer({ groupId: `${topic}.group`, maxWaitTimeInMs: 100 });
  const rtts: number[] = [];
  try {
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        rtts.push(Date.now() - Number(message.value?.toString()));
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await paced(total, rate, async (i) => {
      await producer.send({ topic, acks: -1, messages: [{ key: String(i), value: String(Date.now()) }] });
    });
    await waitUntil(() => rtts.length >= total, options.timeoutMs ?? 60_000);
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
  return rtts;
}

/** Runs both measurements and prints them with their ratio. */
export async function runE2eBench(): Promise<void> {
  const total = Math.round(RATE * SECONDS);
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const pipeline = await startPipeline({
    httpPort: 0,
    onBusDelivery: (event) => {
      const detail = event.detail as { orderId?: string; status?: string };
      const t0 = detail.orderId ? sentAt.get(detail.orderId) : undefined;
      if (event['detail-type'] === 'OrderConfirmed' && t0 !== undefined) latencies.push(Date.now() - t0);
    },
  });
  try {
    const down = (await coreHealth(pipeline.config)).filter((s) => !s.healthy);
    if (down.length > 0) throw new Error(`the local stack is not running: start it with npm run stack:up`);
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
    await applySeed(
      doc,
      { catalog: localTableName(TABLES.CATALOG), inventory: localTableName(TABLES.INVENTORY) },
      readSeed(),
    );
    const address = pipeline.server?.address() as AddressInfo | undefined;
    if (!address) throw new Error('the pipeline serves no HTTP API');
    const url = `http://127.0.0.1:${address.port}/orders`;
    const benchStarted = Date.now();
    await paced(total, RATE, async (i) => {
      const t0 = Date.now();
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          customerId: `bench-${i % 50}`,
          email: `bench${i}@example.com`,
          currency: 'EUR',
          items: [{ sku: 'SKU-MUG', quantity: 1 }],
        }),
      });
      const { orderId } = (await response.json()) as { orderId: string };
      sentAt.set(orderId, t0);
    });
    await waitUntil(() => latencies.length >= total, 120_000);
    const pipelineSeconds = (Date.now() - benchStarted) / 1000;

    const rtts = await measureKafkaRoundTrip(pipeline.config.kafkaBrokers, RATE, total);

    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    const b50 = percentile(rtts, 50);
    const b99 = percentile(rtts, 99);
    console.log(
      `e2e: ${total} orders offered at ${RATE}/s; ${latencies.length} confirmed; ${(latencies.length / pipelineSeconds).toFixed(1)} orders/s sustained`,
    );
    console.log(`  POST /orders -> OrderConfirmed delivered: p50 ${p50} ms, p99 ${p99} ms`);
    console.log(`  bare kafkajs produce -> consume (same broker, same rate): p50 ${b50} ms, p99 ${b99} ms`);
    console.log(`  ratio pipeline / bare round trip: p50 ${(p50 / b50).toFixed(1)}x, p99 ${(p99 / b99).toFixed(1)}x`);
  } finally {
    await pipeline.stop();
  }
}
