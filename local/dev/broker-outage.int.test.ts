/**
 * Broker outage on the local stack: orders are posted through the local HTTP API at a steady rate while Kafka is
 * stopped and started again. Every request must end within order-api's timeout, as 202 or as 503 with
 * Retry-After, and every order answered 202 must be on `orders.raw`; once with the deployed function timeout and once
 * with a short one, both through the same outage. Needs `npm run stack:up`.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Kafka, logLevel } from 'kafkajs';
import type { RecordProducer } from '../../shared/kafka.js';
import { ORDER_API_TIMEOUT_SECONDS } from '../../shared/timeouts.js';
import { TOPICS } from '../../shared/topology.js';
import { startKafka, stopKafka } from '../stack/backend.js';
import type { StackConfig } from '../stack/config.js';
import { kafkaHealth } from '../stack/health.js';
import { requireRunningStack } from '../stack/preflight.js';
import { sleep } from '../stack/processes.js';
import { type HttpApiHandler, serveOrderApi } from './http.js';
import { applyFunctionEnv } from './pipeline.js';

const RUN = randomUUID().slice(0, 8);
const INTERVAL_MS = 100;
const TIMEOUT_MS = ORDER_API_TIMEOUT_SECONDS * 1000;
/** Beyond the function timeout: the HTTP round trip and the event loop of a process serving 100 requests. */
const SLACK_MS = 1_000;

type Phase = 'before' | 'outage' | 'after';

/** One POST /orders as the client saw it. */
interface Attempt {
  readonly index: number;
  readonly phase: Phase;
  readonly ms: number;
  /** 0 when the request itself failed (`error` says how). */
  readonly status: number;
  readonly retryAfter: string | null;
  readonly orderId?: string;
  readonly error?: string;
}

let config: StackConfig;
let handler: HttpApiHandler;
let producer: RecordProducer | undefined;
const servers: Server[] = [];
const savedEnv = { KAFKAJS_LOG_LEVEL: process.env.KAFKAJS_LOG_LEVEL };

beforeAll(async () => {
  config = await requireRunningStack();
  // The outage is deliberate: keep kafkajs's connection errors and order-api's 503 warnings out of the output.
  process.env.KAFKAJS_LOG_LEVEL = 'nothing';
  process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
  applyFunctionEnv();
  // The deployed wiring, built the way the module builds its `handler`, keeping the producer to disconnect it.
  const { createHandler, defaultDeps } = await import('../../functions/order-api/handler.js');
  const deps = defaultDeps();
  producer = deps.producer;
  handler = createHandler(deps);
}, 60_000);

afterAll(async () => {
  // Whatever happened, leave a running broker behind for the other suites.
  if (config && !(await kafkaHealth(config.kafkaBrokers)).healthy) await startKafka();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await producer?.disconnect().catch(() => undefined);
  if (savedEnv.KAFKAJS_LOG_LEVEL === undefined) delete process.env.KAFKAJS_LOG_LEVEL;
  else process.env.KAFKAJS_LOG_LEVEL = savedEnv.KAFKAJS_LOG_LEVEL;
}, 120_000);

/**
 * Posts one order to the server `baseUrl`; every other one carries an Idempotency-Key (unique per server), so both
 * paths of order-api are exercised.
 */
async function postOrder(baseUrl: string, index: number, phase: Phase): Promise<Attempt> {
  const started = Date.now();
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (index % 2 === 0) headers['idempotency-key'] = `outage-${RUN}-${new URL(baseUrl).port}-${index}`;
  try {
    const response = await fetch(`${baseUrl}/orders`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        customerId: `outage-${RUN}`,
        email: `outage-${RUN}@example.com`,
        currency: 'EUR',
        items: [{ sku: 'SKU-BOOK', quantity: 1 }],
        paymentToken: 'tok_visa',
      }),
      // The client's own limit, so a hung server fails this test rather than stalling it.
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await response.json()) as { orderId?: string };
    return {
      index,
      phase,
      ms: Date.now() - started,
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      ...(response.status === 202 && body.orderId ? { orderId: body.orderId } : {}),
    };
  } catch (error) {
    return { index, phase, ms: Date.now() - started, status: 0, retryAfter: null, error: String(error) };
  }
}

/** Reads the keys of `topic` from the beginning, in a new group, until every one of `wanted` was seen. */
async function keysOn(topic: string, wanted: ReadonlySet<string>, timeoutMs: number): Promise<Set<string>> {
  const kafka = new Kafka({
    clientId: 'orderflow-int-outage',
    brokers: [...config.kafkaBrokers],
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({ groupId: `orderflow-int-test-${randomUUID()}`, maxWaitTimeInMs: 250 });
  const seen = new Set<string>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        // The Kafka key of OrderPlaced is the orderId, UTF-8.
        if (message.key) seen.add(message.key.toString('utf8'));
      },
    });
    const deadline = Date.now() + timeoutMs;
    while ([...wanted].some((id) => !seen.has(id)) && Date.now() < deadline) await sleep(200);
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

/**
 * Serves order-api once per function timeout in `timeoutsMs`, each server posted an order every 100 ms, through one
 * outage: Kafka stopped 2 s in, started again 5 s later, then 8 s more of posts; returns every request as the client
 * saw it, by timeout. One outage for both servers (one producer, as one warm function's) instead of one each.
 */
async function postThroughOutage(timeoutsMs: readonly number[]): Promise<Map<number, Attempt[]>> {
  const baseUrls = new Map<number, string>();
  for (const timeoutMs of timeoutsMs) {
    const server = await serveOrderApi(handler, { port: 0, timeoutMs });
    servers.push(server);
    baseUrls.set(timeoutMs, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  }
  // The producer connected and the schema id cached, as in a warm function.
  for (const baseUrl of baseUrls.values()) expect((await postOrder(baseUrl, -1, 'before')).status).toBe(202);
  let phase: Phase = 'before';
  let index = 0;
  const attempts = new Map<number, Promise<Attempt>[]>(timeoutsMs.map((t) => [t, []]));
  const stream = setInterval(() => {
    for (const [timeoutMs, baseUrl] of baseUrls) attempts.get(timeoutMs)?.push(postOrder(baseUrl, index, phase));
    index += 1;
  }, INTERVAL_MS);
  try {
    await sleep(2_000);
    phase = 'outage';
    await stopKafka();
    await sleep(5_000);
    await startKafka();
    phase = 'after';
    await sleep(8_000);
  } finally {
    clearInterval(stream);
  }
  const byTimeout = new Map<number, Attempt[]>();
  for (const [timeoutMs, pending] of attempts) {
    const results = await Promise.all(pending);
    byTimeout.set(timeoutMs, results);
    const count = (status: number, p?: Phase) =>
      results.filter((a) => a.status === status && (p === undefined || a.phase === p)).length;
    // Straight to stdout: jest's console.log would add its caller's location, a stack line in CI's output.
    process.stdout.write(
      `broker outage: timeout ${timeoutMs} ms, ${results.length} requests: ${count(202)} accepted, ` +
        `${count(503)} unavailable (${count(503, 'outage')} sent during the outage, ${count(503, 'after')} after ` +
        `it); slowest ${Math.max(...results.map((a) => a.ms))} ms\n`,
    );
  }
  return byTimeout;
}

/** A short function timeout, 3 s: it leaves a publish budget of 2.4 s, less than kafkajs takes to give up on a stopped broker. */
const SHORT_TIMEOUT_MS = 3_000;
let outage: Promise<Map<number, Attempt[]>> | undefined;

/** The requests of the server with `timeoutMs`, through the one outage both tests share (run by the first to ask). */
async function attemptsWith(timeoutMs: number): Promise<Attempt[]> {
  outage ??= postThroughOutage([TIMEOUT_MS, SHORT_TIMEOUT_MS]);
  const results = (await outage).get(timeoutMs);
  if (!results) throw new Error(`no server with a ${timeoutMs} ms timeout was posted to`);
  return results;
}

/** The assertions both outages share: bounded, 202 or 503 + Retry-After, recovered, nothing accepted lost. */
async function expectBoundedAndNothingLost(results: readonly Attempt[], timeoutMs: number): Promise<void> {
  expect(results.filter((a) => a.ms > timeoutMs + SLACK_MS)).toEqual([]);
  expect(results.filter((a) => !(a.status === 202 || (a.status === 503 && a.retryAfter !== null)))).toEqual([]);
  // Once the broker is back, the same producer places orders again.
  const last = results.slice(-10);
  expect(last.map((a) => a.status)).toEqual(last.map(() => 202));
  const accepted = new Set(results.flatMap((a) => (a.orderId ? [a.orderId] : [])));
  const onTopic = await keysOn(TOPICS.ORDERS_RAW, accepted, 60_000);
  expect([...accepted].filter((orderId) => !onTopic.has(orderId))).toEqual([]);
}

describe('order-api through the local HTTP server while the broker is away', () => {
  it('answers every request within the deployed timeout with 202 or 503, and every 202 order is on orders.raw', async () => {
    const results = await attemptsWith(TIMEOUT_MS);

    await expectBoundedAndNothingLost(results, TIMEOUT_MS);
  }, 180_000);

  it('gives up on the broker at the publish deadline when the outage outlasts a short function timeout', async () => {
    const results = await attemptsWith(SHORT_TIMEOUT_MS);

    await expectBoundedAndNothingLost(results, SHORT_TIMEOUT_MS);
  }, 180_000);
});
