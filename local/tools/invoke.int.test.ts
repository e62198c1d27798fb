/**
 * `npm run invoke` for real: the synthesized validate-order bundle under Lambda's Runtime Interface Emulator and
 * aws-lambda-ric, against the local stack. Needs `npm run stack:up` first (and Go, to build RIE once); the first
 * run also synthesizes the stack with bundles (a few minutes).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { localTableName, TABLES } from '../../shared/tables.js';
import { TOPICS } from '../../shared/topology.js';
import { applySeed, readSeed } from '../dev/seed.js';
import { applyStackEnv, REPO_ROOT, type StackConfig } from '../stack/config.js';
import { requireRunningStack } from '../stack/preflight.js';
import { type ConsumedRecord, type TailConsumer, tailTopics } from '../stack/testing.js';

const EVENT = path.join(REPO_ROOT, 'events', 'validate-order', 'orders-batch.json');
/** Records in that batch (orders.raw-0: 3, orders.raw-1: 2), all valid orders of the seeded catalog. */
const RECORDS = 5;

/** The batch's record keys (the order ids), which the validated records keep. */
function batchKeys(): string[] {
  const event = JSON.parse(readFileSync(EVENT, 'utf8')) as { records: Record<string, { key: string }[]> };
  return Object.values(event.records)
    .flat()
    .map((r) => Buffer.from(r.key, 'base64').toString('utf8'));
}

let config: StackConfig;
let tail: TailConsumer;

beforeAll(async () => {
  config = await requireRunningStack();
  // The batch's SKUs must be in the catalog, whichever suite ran (and seeded) first.
  applyStackEnv(config);
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: config.awsRegion }));
  await applySeed(
    doc,
    { catalog: localTableName(TABLES.CATALOG), inventory: localTableName(TABLES.INVENTORY) },
    readSeed(),
  );
  doc.destroy();
  tail = await tailTopics(config.kafkaBrokers, [TOPICS.ORDERS_VALIDATED]);
}, 60_000);

afterAll(async () => {
  await tail?.stop();
});

describe('npm run invoke', () => {
  it(
    'runs the bundled validate-order on a recorded batch and prints its batch response and logs',
    async () => {
      // Act
      const result = spawnSync('npx', ['tsx', 'local/tools/invoke.ts', 'validate-order', EVENT], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        timeout: 15 * 60_000,
      });

      // Assess
      expect({ status: result.status, stderr: result.status === 0 ? '' : result.stderr }).toEqual({
        status: 0,
        stderr: '',
      });
      expect(JSON.parse(result.stdout)).toEqual({ batchItemFailures: [] });
      // The runtime's and the function's own log lines: RIE's REPORT and Powertools' structured logs.
      expect(result.stderr).toMatch(/START RequestId: [0-9a-f-]{36}/);
      expect(result.stderr).toMatch(/REPORT RequestId: [0-9a-f-]{36}\s+Init Duration/);
      expect(result.stderr.match(/"message":"order validated"/g)).toHaveLength(RECORDS);
      expect(result.stderr).toMatch(/"function_name":"validate-order"/);
      // Other producers may write to the topic meanwhile: look for this batch's orders only.
      const keys = batchKeys();
      const ours = (records: readonly ConsumedRecord[]) =>
        records.filter((r) => keys.includes(r.message.key?.toString('utf8') ?? ''));
      const produced = ours(await tail.until((records) => ours(records).length >= RECORDS, 30_000));
      expect(produced.map((r) => r.message.key?.toString('utf8')).sort()).toEqual([...keys].sort());
    },
    16 * 60_000,
  );
});
