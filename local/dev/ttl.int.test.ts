/** The local TTL sweeper against the real DynamoDB emulator. Needs `npm run stack:up` first. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { localTableName, TABLES } from '../../shared/tables.js';
import { requireRunningStack } from '../stack/preflight.js';
import { sweepExpired } from './ttl.js';

let doc: DynamoDBDocumentClient;

beforeAll(async () => {
  await requireRunningStack();
  doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
}, 30_000);

describe('sweepExpired', () => {
  it('deletes expired items of a TTL table and keeps live ones and ones without an expiry', async () => {
    // Prepare
    const TableName = localTableName(TABLES.IDEMPOTENCY);
    const run = Date.now();
    const now = Math.floor(run / 1000);
    const items = [
      { id: `ttl-expired-${run}`, expiration: now - 10 },
      { id: `ttl-live-${run}`, expiration: now + 3600 },
      { id: `ttl-none-${run}` },
    ];
    for (const Item of items) await doc.send(new PutCommand({ TableName, Item }));

    // Act
    const deleted = await sweepExpired(doc, { tables: [TABLES.IDEMPOTENCY] });

    // Assess
    const left = await Promise.all(
      items.map(async (i) => (await doc.send(new GetCommand({ TableName, Key: { id: i.id } }))).Item?.id),
    );
    expect(deleted).toBeGreaterThanOrEqual(1);
    expect(left).toEqual([undefined, `ttl-live-${run}`, `ttl-none-${run}`]);
  });
});
