/**
 * `npm run dev`: starts the local stack if it is not up (`stack:up` is idempotent), seeds the catalog, runs
 * every function on its local event source, serves the order API on http://127.0.0.1:3000 and prints a live
 * status line. Ctrl-C drains the batches in flight, commits and exits.
 */
import { spawnSync } from 'node:child_process';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { Kafka, logLevel } from 'kafkajs';
import { localTableName, TABLES } from '../../shared/tables.js';
import { TOPICS } from '../../shared/topology.js';
import { REPO_ROOT } from '../stack/config.js';
import { startPipeline } from './pipeline.js';
import { applySeed, readSeed } from './seed.js';

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

/** Revenue of the current minute and the running average order value, per currency, from the analytics table. */
async function analytics(doc: DynamoDBDocumentClient): Promise<{ revenueMinute: string; averageValue: string }> {
  const minute = new Date().toISOString().slice(0, 16);
  const { Items = [] } = await doc.send(
    new ScanCommand({
      TableName: localTableName(TABLES.ANALYTICS),
      FilterExpression: 'NOT begins_with(pk, :o)',
      ExpressionAttributeValues: { ':o': 'ORDER#' },
    }),
  );
  const money = (cents: number, currency: string) =>
    new Intl.NumberFormat('en', { style: 'currency', currency }).format(cents / 100);
  const revenue: string[] = [];
  const average: string[] = [];
  for (const item of Items) {
    const pk = String(item.pk);
    const currency = pk.split('#').at(-1) ?? 'EUR';
    if (pk.startsWith(`MINUTE#${minute}#`)) revenue.push(money(Number(item.revenueCents ?? 0), currency));
    if (pk.startsWith('TOTAL#') && Number(item.orders) > 0)
      average.push(money(Number(item.revenueCents) / Number(item.orders), currency));
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
  const window: { at: number; records: number }[] = [];
  const timer = setInterval(
    async () => {
      try {
        const now = Date.now();
        window.push({ at: now, records: validated?.records ?? 0 });
        while (window.length > 0 && (window[0]?.at ?? now) < now - 5_000) window.shift();
        const first = window[0];
        const perSecond =
          first && now > first.at ? (((validated?.records ?? 0) - first.records) * 1000) / (now - first.at) : 0;
        const finished = Object.values(pipeline.rules).reduce((n, r) => n + r.delivered + r.deadLettered, 0);
        const { revenueMinute, averageValue } = await analytics(doc);
        const line = `orders/s ${perSecond.toFixed(1)} · revenue this minute ${revenueMinute} · avg order ${averageValue} · in flight ${Math.max(0, (validated?.records ?? 0) - finished)} · DLQ ${await dlqDepth(admin)}`;
        process.stdout.write(process.stdout.isTTY ? `\r\x1b[2K${line}` : `${line}\n`);
      } catch (error) {
        process.stderr.write(`\nstatus: ${(error as Error).message}\n`);
      }
    },
    process.stdout.isTTY ? 1_000 : 10_000,
  );

  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
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
