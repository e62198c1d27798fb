/**
 * The fault suite (`npm run test:faults`): the real local loop, `npm run dev` as a child process, takes 40 orders
 * at 4/s through POST /orders while one service of the local stack is SIGKILLed a third of the way in and
 * `npm run stack:up` is run two thirds of the way in; then the same with the dev process itself SIGKILLed and
 * started again. For every fault: dev still serving, every accepted order final with exactly one email, POSTs
 * answered only 202 or 503 (+ Retry-After) while dev ran, no new dead letter, and no doubled charge or stock.
 * One summary line per fault; the figures go into docs/benchmarks.md (## Faults). Needs `npm run stack:up`.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { localTableName, TABLES } from '../../shared/tables.js';
import { RULES } from '../../shared/topology.js';
import { ruleQueues } from '../provision/eventbridge.js';
import type { StackConfig } from '../stack/config.js';
import { requireRunningStack } from '../stack/preflight.js';
import { freePort, killService, LOG_DIR, runCommand, sleep } from '../stack/processes.js';
import {
  type AuditEmail,
  collectEmails,
  isFinalStatus,
  type PlacedOrder,
  readAndAudit,
  readStatuses,
  readStock,
} from '../tools/audit.js';
import { dlqDepth } from './dashboard/data.js';
import { startDev } from './testing.js';

const RUN = randomUUID().slice(0, 8);
const ORDERS = 40;
const RATE_PER_SECOND = 4;
const STOCK = 10_000;
const PRICE_CENTS = 700;
/** How long every accepted order gets to become final after the last POST. */
const SETTLE_MS = 150_000;

/** A SIGKILLed service of the stack (its pid file name), or the dev process. */
type Fault = 'kafka' | 'dynamodb' | 'ministack' | 'schema-registry' | 'dev';

/** One POST /orders as the client saw it. */
interface Answer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly orderId?: string;
  readonly placedAt: number;
  /** Whether the dev process was down (killed, not yet serving again) when the POST was sent. */
  readonly devDown: boolean;
}

let config: StackConfig;
let doc: DynamoDBDocumentClient;
let admin: Admin;
let sqs: SQSClient;
let dev: ChildProcess | undefined;
let baseUrl = '';
let devLog: WriteStream;
const summaries: string[] = [];

async function startDevServer(): Promise<void> {
  const port = await freePort();
  dev = await startDev(port, (text) => devLog.write(text));
  baseUrl = `http://127.0.0.1:${port}`;
}

/** Dead letters in orders.dlq and in the rules' dead-letter queues. */
async function deadLetters(): Promise<number> {
  const topic = await dlqDepth(admin, 30_000);
  const queues = await Promise.all(
    RULES.map(async (rule) => {
      const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: ruleQueues(rule).deadLetterQueue }));
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
      );
      return Number(Attributes.ApproximateNumberOfMessages ?? 0);
    }),
  );
  return topic + queues.reduce((a, b) => a + b, 0);
}

async function post(sku: string, devDown: boolean): Promise<Answer> {
  const placedAt = Date.now();
  try {
    const response = await fetch(`${baseUrl}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({
        customerId: `faults-${RUN}`,
        email: `faults-${RUN}@example.com`,
        currency: 'EUR',
        items: [{ sku, quantity: 1 }],
        paymentToken: 'tok_visa',
      }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await response.json().catch(() => ({}))) as { orderId?: string };
    return {
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      placedAt,
      devDown,
      ...(response.status === 202 && body.orderId ? { orderId: body.orderId } : {}),
    };
  } catch {
    return { status: 0, retryAfter: null, placedAt, devDown };
  }
}

/** Places a SKU of its own with plenty of stock, so the audit's stock figures are exact. */
async function freshSku(fault: Fault): Promise<string> {
  const sku = `SKU-FAULT-${fault.toUpperCase()}-${RUN}`;
  await doc.send(
    new PutCommand({
      TableName: localTableName(TABLES.CATALOG),
      Item: { pk: `SKU#${sku}`, sku, name: sku, prices: { EUR: PRICE_CENTS } },
    }),
  );
  await doc.send(
    new PutCommand({ TableName: localTableName(TABLES.INVENTORY), Item: { pk: `SKU#${sku}`, sku, available: STOCK } }),
  );
  return sku;
}

/** Runs one fault through 40 orders; returns what the assertions need and logs the summary line. */
async function runFault(fault: Fault) {
  const sku = await freshSku(fault);
  const stockBefore = await readStock(doc, [sku]);
  const dlqBefore = await deadLetters();
  // Read the sent emails only once every order is final, after the restart: MiniStack's mailbox (its sent-email
  // journal, local/stack/ministack_bounded.py) must keep every email sent before a SIGKILL, as SES would.
  const emails = collectEmails(config.awsEndpointUrl, 0);
  const answers: Promise<Answer>[] = [];
  let devDown = false;
  let recovery: Promise<unknown> = Promise.resolve();
  const intervalMs = 1000 / RATE_PER_SECOND;
  const started = Date.now();
  for (let i = 0; i < ORDERS; i += 1) {
    if (i === Math.floor(ORDERS / 3)) {
      if (fault === 'dev') {
        dev?.kill('SIGKILL');
        devDown = true;
      } else {
        expect(await killService(fault)).toBeDefined();
      }
    }
    if (i === Math.floor((2 * ORDERS) / 3)) {
      recovery =
        fault === 'dev'
          ? startDevServer().then(() => {
              devDown = false;
            })
          : runCommand('npx', ['tsx', 'local/stack/cli.ts', 'up'], { timeoutMs: 180_000 });
    }
    answers.push(post(sku, devDown));
    await sleep(Math.max(0, started + (i + 1) * intervalMs - Date.now()));
  }
  const lastPostAt = Date.now();
  await recovery;
  const results = await Promise.all(answers);
  const orders: PlacedOrder[] = results.flatMap((a) =>
    a.orderId ? [{ orderId: a.orderId, placedAt: a.placedAt, items: [{ sku, quantity: 1 }] }] : [],
  );
  const ids = orders.map((o) => o.orderId);
  // Every accepted order final, and its email collected.
  const deadline = Date.now() + SETTLE_MS;
  let lastFinalAt = Date.now();
  let final = 0;
  for (;;) {
    const statuses = await readStatuses(doc, ids).catch(() => new Map());
    final = ids.filter((id) => isFinalStatus(statuses.get(id)?.status)).length;
    await emails.refresh().catch(() => undefined);
    if (final === ids.length && emails.countFor(new Set(ids)) >= ids.length) {
      lastFinalAt = Date.now();
      break;
    }
    if (Date.now() > deadline) break;
    await sleep(500);
  }
  // Late duplicates (a redelivered batch) would come within seconds: give them the chance to show.
  await sleep(3_000);
  await emails.refresh().catch(() => undefined);
  await emails.stop();
  const collected: AuditEmail[] = emails.emails();
  const { report } = await readAndAudit(doc, { orders, skus: [sku], stockBefore, emails: collected });
  const dlqAfter = await deadLetters();
  const byStatus = new Map<number, number>();
  for (const a of results) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
  const statusText = [...byStatus.entries()]
    .sort(([a], [b]) => a - b)
    .map(([status, n]) => `${status === 0 ? 'refused' : status}×${n}`)
    .join(' ');
  const seconds = ((lastFinalAt - lastPostAt) / 1000).toFixed(1);
  const line =
    `faults: ${fault}: ${orders.length} accepted, ${final} final; POST ${statusText}; ` +
    `DLQ ${dlqBefore} -> ${dlqAfter}; last order final ${seconds} s after the last POST; ` +
    `audit violations ${report.violations} (charges doubled ${report.charges.doubled}, stock doubled ${report.stock.skus.doubled + report.stock.reservations.doubled}, emails lost ${report.emails.lost} doubled ${report.emails.doubled})`;
  summaries.push(line);
  // Straight to stdout: jest's console.log would add its caller's location, a stack line in CI's output.
  process.stdout.write(`${line}\n`);
  const health = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
  return { results, orders, final, report, dlqBefore, dlqAfter, healthy: health?.ok === true };
}

function expectRodeThrough(outcome: Awaited<ReturnType<typeof runFault>>): void {
  expect(dev?.exitCode).toBeNull();
  expect(outcome.healthy).toBe(true);
  // While dev ran, a POST got 202 or 503 with Retry-After, never a reset or another status.
  const whileUp = outcome.results.filter((a) => !a.devDown);
  expect(whileUp.filter((a) => !(a.status === 202 || (a.status === 503 && a.retryAfter !== null)))).toEqual([]);
  expect(outcome.orders.length).toBeGreaterThan(0);
  expect(outcome.final).toBe(outcome.orders.length);
  expect(outcome.report.unfinished).toEqual([]);
  expect([outcome.report.charges.doubled, outcome.report.charges.lost]).toEqual([0, 0]);
  expect([outcome.report.stock.skus.doubled, outcome.report.stock.reservations.doubled]).toEqual([0, 0]);
  expect([outcome.report.emails.doubled, outcome.report.emails.lost]).toEqual([0, 0]);
  expect(outcome.dlqAfter).toBe(outcome.dlqBefore);
}

beforeAll(async () => {
  config = await requireRunningStack();
  doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  sqs = new SQSClient({});
  admin = new Kafka({ brokers: [...config.kafkaBrokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  mkdirSync(LOG_DIR, { recursive: true });
  const logPath = path.join(LOG_DIR, `faults-dev-${RUN}.log`);
  devLog = createWriteStream(logPath);
  process.stdout.write(`faults: the dev process logs to ${logPath}\n`);
  await startDevServer();
}, 180_000);

afterAll(async () => {
  if (summaries.length > 0) process.stdout.write(`${summaries.join('\n')}\n`);
  if (dev && dev.exitCode === null) {
    const exited = new Promise((resolve) => dev?.once('exit', resolve));
    dev.kill('SIGTERM');
    const timer = setTimeout(() => dev?.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }
  // Whatever happened, leave the whole stack running for what comes next.
  await runCommand('npx', ['tsx', 'local/stack/cli.ts', 'up'], { timeoutMs: 180_000 }).catch(() => undefined);
  await admin?.disconnect().catch(() => undefined);
  devLog?.end();
}, 240_000);

describe('the local loop when a dependency is SIGKILLed and started again', () => {
  for (const fault of ['kafka', 'dynamodb', 'ministack', 'schema-registry'] as const) {
    it(`rides through a SIGKILL of ${fault}: every accepted order final with one email, no dead letter`, async () => {
      expectRodeThrough(await runFault(fault));
    }, 420_000);
  }

  it('loses and doubles nothing when npm run dev itself is SIGKILLed and started again', async () => {
    expectRodeThrough(await runFault('dev'));
  }, 420_000);
});
