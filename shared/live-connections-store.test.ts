import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { TransientError } from './errors.js';
import { dynamoLiveConnectionsStore, LIVE_ITEM_TTL_SECONDS } from './live-connections-store.js';
import { FakeTable } from './testing/fake-table.js';

const TABLE = 'orderflow-live-connections';
const NOW = Date.parse('2026-11-21T10:00:00.000Z');

const ddb = mockClient(DynamoDBDocumentClient);
const store = dynamoLiveConnectionsStore(
  DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
  TABLE,
);
let live: FakeTable;

beforeEach(() => {
  ddb.reset();
  live = new FakeTable('pk');
  ddb.on(UpdateCommand).callsFake(live.updateItem);
  ddb.on(BatchGetCommand).callsFake(live.batchGetItem);
});

describe('dynamoLiveConnectionsStore', () => {
  it('pushes the expiry of both items 2 h 10 min past the last write', async () => {
    // Act
    await store.subscribe('conn-1', 'order-1', NOW);
    await store.subscribe('conn-2', 'order-1', NOW + 60_000);

    // Assess
    expect(live.get('SUB#order-1')?.expiresAt).toBe((NOW + 60_000) / 1000 + 2 * 3600 + 600);
    expect(live.get('CONN#conn-1')?.expiresAt).toBe(NOW / 1000 + LIVE_ITEM_TTL_SECONDS);
  });

  it('asks again for the keys DynamoDB left unprocessed', async () => {
    // Prepare
    live.set('SUB#order-1', { pk: 'SUB#order-1', connections: new Set(['conn-1']) });
    live.set('SUB#*', { pk: 'SUB#*', connections: new Set(['conn-1', 'conn-2']) });
    ddb
      .on(BatchGetCommand)
      .resolvesOnce({
        Responses: { [TABLE]: [live.get('SUB#order-1') ?? {}] },
        UnprocessedKeys: { [TABLE]: { Keys: [{ pk: 'SUB#*' }] } },
      })
      .callsFake(live.batchGetItem);

    // Act
    const found = await store.subscribersOf(['order-1', '*']);

    // Assess
    expect(found).toEqual(
      new Map([
        ['conn-1', ['order-1', '*']],
        ['conn-2', ['*']],
      ]),
    );
    expect(ddb.commandCalls(BatchGetCommand)[1]?.args[0].input.RequestItems?.[TABLE]?.Keys).toEqual([{ pk: 'SUB#*' }]);
  });

  it('fails with TransientError when DynamoDB keeps leaving keys unprocessed', async () => {
    // Prepare
    ddb
      .on(BatchGetCommand)
      .resolves({ Responses: { [TABLE]: [] }, UnprocessedKeys: { [TABLE]: { Keys: [{ pk: 'SUB#*' }] } } });

    // Act
    const failure = await store.subscribersOf(['order-1', '*']).catch((e: unknown) => e);

    // Assess
    expect(failure).toBeInstanceOf(TransientError);
    expect((failure as Error).message).toContain('SUB#*');
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(4);
  });
});
