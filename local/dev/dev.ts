/**
 * `npm run dev`: starts the local stack if it is not up (`stack:up` is idempotent), seeds the catalog, runs
 * every function on its local event source, serves the order API on http://127.0.0.1:3000 and prints a live
 * status line. Ctrl-C drains the batches in flight, commits and exits.
 */
import { spawnSync } from 'node:child_process';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Kafka, logLevel } from 'kafkajs';
import { minuteOf } from '../../functions/order-analytics/order-analytics.js';
import { CURRENCIES } from '../../shared/events.js';
import { localTableName, TABLES } from '../../shared/tables.js';
import { TOPICS } from '../../shared/topology.js';
import { REPO_ROOT } from '../stack/config.js';
import { startPipeline } from './pipeline.js';
import { applySeed, readSeed } from './seed.js';
import { ratePerSecond, type Sample } from './status.js';
import { startTtlSweeper } from './ttl.js';

const PORT = Number(process.env.PORT ?? 3000);

function stackUp(): void {
  const result = spawnSync('npx', ['tsx', 'local/stack/cli.ts', 'up'], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error('orderflow dev: the local stack did not start (see above); nothing else was started.');
    process.exit(result.status ?? 1);
  }
}

/** Sums the records waiting in the dead-letter topic. */
async function dlqDepth(admin: ReturnType<Kafka['admin']>): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(TOPICS.ORDERS_DLQ);
  return offsets.reduce((sum, p) => sum + (Number(p.high) - Number(p.low)), 0);
}

/**
 * Revenue of the current minute and the running average order value, per currency: six point reads of the
 * analytics table (`MINUTE#<minute>#<currency>`, `TOTAL#<currency>`), whatever the number of orders.
 */
async function analytics(doc: DynamoDBDocumentClient): Promise<{ revenueMinute: string; averageValue: string }> {
  const minute = minuteOf(Date.now());
  const table = localTableName(TABLES.ANALYTICS);
  const keys = CURRENCIES.flatMap((c) => [{ pk: `MINUTE#${minute}#${c}` }, { pk: `TOTAL#${c}` }]);
  const result = await doc.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: keys } } }));
  const items = new Map((result.Responses?.[table] ?? []).map((item) => [String(item.pk), item]));
  const money = (cents: number, currency: string) =>
    new Intl.NumberFormat('en', { style: 'currency', currency }).format(cents / 100);
  const revenue: string[] = [];
  const average: string[] = [];
  for (const currency of CURRENCIES) {
    const thisMinute = items.get(`MINUTE#${minute}#${currency}`);
    if (thisMinute) revenue.push(money(Number(thisMinute.revenueCents ?? 0), currency));
    const total = items.get(`TOTAL#${currency}`);
    if (total && Number(total.orders) > 0)
      average.push(money(Number(total.revenueCents) / Number(total.orders), currency));
  }
  return { revenueMinute: revenue.join(' + ') || '0', averageValue: average.join(' / ') || '-' };
}

async function main(): Promise<void> {
  stackUp();
  const pipeline = await startPipeline({ httpPort: PORT, log: (m) => process.stderr.write(`\n${m}\n`) });
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  const written = await applySeed(
    doc,
    { catalog: localTableName(TABLES.CATALOG), inventory: localTableName(TABLES.INVENTORY) },
    readSeed(),
  );
  const admin = new Kafka({ brokers: [...pipeline.config.kafkaBrokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  console.log(
    `orderflow dev: seeded ${written} catalog/stock items; order API on http://127.0.0.1:${PORT} (POST /orders, GET /orders/{orderId}, GET /healthz)`,
  );
  console.log(
    `  try: curl -s -X POST http://127.0.0.1:${PORT}/orders -H 'content-type: application/json' -d '{"customerId":"c-1","email":"ada@example.com","currency":"EUR","items":[{"sku":"SKU-BOOK","quantity":1}]}'`,
  );

  const validated = pipeline.functions['validate-order'];
  const sweeper = startTtlSweeper(doc, { log: (m) => process.stderr.write(`\n${m}\n`) });
  // Orders per second over the last 5 s, sampled every second in and out of a terminal; a terminal gets the
  // line redrawn every second, a log file one line every 10 s.
  const samples: Sample[] = [];
  const interactive = process.stdout.isTTY === true;
  let ticks = 0;
  const timer = setInterval(async () => {
    const now = Date.now();
    samples.push({ at: now, count: validated?.records ?? 0 });
    while (samples.length > 6) samples.shift();
    ticks += 1;
    if (!interactive && ticks % 10 !== 0) return;
    try {
      const finished = Object.values(pipeline.rules).reduce((n, r) => n + r.delivered + r.deadLettered, 0);
      const { revenueMinute, averageValue } = await analytics(doc);
      const line = `orders/s ${ratePerSecond(samples).toFixed(1)} · revenue this minute ${revenueMinute} · avg order ${averageValue} · in flight ${Math.max(0, (validated?.records ?? 0) - finished)} · DLQ ${await dlqDepth(admin)}`;
      process.stdout.write(interactive ? `\r\x1b[2K${line}` : `${line}\n`);
    } catch (error) {
      process.stderr.write(`\nstatus: ${(error as Error).message}\n`);
    }
  }, 1_000);

  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    await sweeper.stop();
    process.stdout.write('\norderflow dev: draining batches in flight and committing offsets...\n');
    await pipeline.stop();
    await admin.disconnect();
    console.log('orderflow dev: stopped (the stack keeps running: npm run stack:down stops it).');
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  console.error(`orderflow dev: ${(error as Error).message}`);
  process.exit(1);
});
