/**
 * `npm run dev`: starts the local stack if it is not up (`stack:up` is idempotent), seeds the catalog, runs
 * every function on its local event source, serves the order API on http://127.0.0.1:3000 with the live
 * WebSocket endpoint (`/live`, its Management API at `/_live`) and the dashboard (`/`) next to it, and prints a
 * live status line. Ctrl-C drains the batches in flight, commits and exits.
 */
import { spawnSync } from 'node:child_process';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Kafka, logLevel } from 'kafkajs';
import { localTableName, TABLES } from '../../shared/tables.js';
import { REPO_ROOT } from '../stack/config.js';
import { dlqDepth, followDeadLetters, localDashboardSources } from './dashboard/data.js';
import { dashboardRoute } from './dashboard/routes.js';
import { mountRoute } from './http.js';
import { attachLiveGateway, sandboxedLiveRoutes } from './live.js';
import { functionEnv, functionTimeoutMs, startPipeline } from './pipeline.js';
import { applySeed, readSeed } from './seed.js';
import { ratePerSecond, readAnalytics, type Sample, statusAnalytics } from './status.js';
import { startTtlSweeper } from './ttl.js';

const PORT = Number(process.env.PORT ?? 3000);

function stackUp(): void {
  const result = spawnSync('npx', ['tsx', 'local/stack/cli.ts', 'up'], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error('orderflow dev: the local stack did not start (see above); nothing else was started.');
    process.exit(result.status ?? 1);
  }
}

async function main(): Promise<void> {
  stackUp();
  // Where the live functions (in their sandboxes) reach the Management API: this process's /_live.
  process.env.LIVE_CALLBACK_URL = `http://127.0.0.1:${PORT}/_live`;
  const pipeline = await startPipeline({ httpPort: PORT, log: (m) => process.stderr.write(`\n${m}\n`) });
  if (!pipeline.server) throw new Error('the pipeline serves no HTTP API');
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  const written = await applySeed(
    doc,
    { catalog: localTableName(TABLES.CATALOG), inventory: localTableName(TABLES.INVENTORY) },
    readSeed(),
  );
  const kafka = new Kafka({ brokers: [...pipeline.config.kafkaBrokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const log = (m: string) => process.stderr.write(`\n${m}\n`);
  // The live WebSocket routes ($connect, $disconnect, subscribe, unsubscribe, $default) run live-connections in
  // sandboxes of its own, as API Gateway invokes it; it and the notifier reply through this process's /_live.
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  const liveRoutes = await sandboxedLiveRoutes('live-connections', {
    timeoutMs: functionTimeoutMs('live-connections'),
    env: { ...env, ...functionEnv('live-connections', pipeline.config) },
  });
  const gateway = attachLiveGateway(pipeline.server, { routeHandler: liveRoutes.handler, log });
  mountRoute(pipeline.server, gateway.handleRequest);
  const follower = await followDeadLetters(kafka, { keep: 20, log });
  const validated = pipeline.functions['validate-order'];
  const samples: Sample[] = [];
  mountRoute(
    pipeline.server,
    dashboardRoute(
      localDashboardSources({
        doc,
        analyticsTable: localTableName(TABLES.ANALYTICS),
        admin,
        kafka,
        follower,
        ordersPerSecond: () => ratePerSecond(samples),
        pipeline: () => ({ ...pipeline.admission.stats(), awsCalls: pipeline.awsCalls() }),
      }),
    ),
  );
  console.log(
    `orderflow dev: seeded ${written} catalog/stock items; order API on http://127.0.0.1:${PORT} (POST /orders, GET /orders/{orderId}, GET /healthz)`,
  );
  console.log(
    `  dashboard on http://127.0.0.1:${PORT}/ · live updates on ws://127.0.0.1:${PORT}/live (Management API ${process.env.LIVE_CALLBACK_URL})`,
  );
  console.log(
    `  try: curl -s -X POST http://127.0.0.1:${PORT}/orders -H 'content-type: application/json' -d '{"customerId":"c-1","email":"ada@example.com","currency":"EUR","items":[{"sku":"SKU-BOOK","quantity":1}]}'`,
  );

  const sweeper = startTtlSweeper(doc, { log: (m) => process.stderr.write(`\n${m}\n`) });
  // Orders per second over the last 5 s, sampled every second in and out of a terminal; a terminal gets the
  // line redrawn every second, a log file one line every 10 s. The dashboard shows the same rate.
  const interactive = process.stdout.isTTY === true;
  let ticks = 0;
  const timer = setInterval(async () => {
    const now = Date.now();
    samples.push({ at: now, count: validated?.records ?? 0 });
    while (samples.length > 6) samples.shift();
    ticks += 1;
    if (!interactive && ticks % 10 !== 0) return;
    try {
      const { backlog, shed } = pipeline.admission.stats();
      const { revenueMinute, averageValue } = statusAnalytics(
        await readAnalytics(doc, localTableName(TABLES.ANALYTICS), 1),
      );
      const line = `orders/s ${ratePerSecond(samples).toFixed(1)} · revenue this minute ${revenueMinute} · avg order ${averageValue} · in flight ${backlog} · shed ${shed} · DLQ ${await dlqDepth(admin)}`;
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
    // Open WebSockets would keep the HTTP server from closing: they go first, each with its $disconnect.
    await gateway.close();
    await liveRoutes.stop();
    await follower.stop();
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
