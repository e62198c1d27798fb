/**
 * DynamoDB's Time to Live, locally: Dynoxide stores TTL settings but its server never deletes expired items, so
 * `npm run dev` sweeps every table of `shared/tables.ts` that has a TTL attribute, deleting items whose expiry
 * (epoch seconds) has passed, as DynamoDB does in the background
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html). Nothing relies on the deletion for
 * correctness (Powertools idempotency checks expiry itself); it keeps the local tables from growing forever.
 */
import { BatchWriteCommand, type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { localTableName, TABLES, type TableSpec } from '../../shared/tables.js';

/** Options of `sweepExpired` and `startTtlSweeper`. */
export interface TtlSweepOptions {
  /** Tables to sweep. @default - every table with a `ttlAttribute` */
  readonly tables?: readonly TableSpec[];
  /** Epoch ms "now". @default - Date.now */
  readonly now?: () => number;
  readonly log?: (message: string) => void;
}

/**
 * Deletes every expired item of the TTL tables once; returns how many it deleted.
 *
 * @example
 * await sweepExpired(doc); // 0 when nothing expired
 */
export async function sweepExpired(doc: DynamoDBDocumentClient, options: TtlSweepOptions = {}): Promise<number> {
  const all: readonly TableSpec[] = Object.values(TABLES);
  const tables = options.tables ?? all.filter((t) => t.ttlAttribute);
  const nowSeconds = Math.floor((options.now ?? Date.now)() / 1000);
  let deleted = 0;
  for (const spec of tables) {
    if (!spec.ttlAttribute) continue;
    const TableName = localTableName(spec);
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new ScanCommand({
          TableName,
          // TTL ignores items whose attribute is missing or not a number, and so do we.
          FilterExpression: 'attribute_type(#ttl, :n) AND #ttl < :now',
          ExpressionAttributeNames: { '#ttl': spec.ttlAttribute, '#key': spec.partitionKey },
          ExpressionAttributeValues: { ':now': nowSeconds, ':n': 'N' },
          ProjectionExpression: '#key',
          ExclusiveStartKey,
          Limit: 1_000,
        }),
      );
      const keys = page.Items ?? [];
      for (let i = 0; i < keys.length; i += 25) {
        let requests = keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
        while (requests.length > 0) {
          const result = await doc.send(new BatchWriteCommand({ RequestItems: { [TableName]: requests } }));
          const unprocessed = result.UnprocessedItems?.[TableName] ?? [];
          deleted += requests.length - unprocessed.length;
          requests = unprocessed as typeof requests;
        }
      }
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
  }
  return deleted;
}

/** Sweeps every `intervalMs` (default 60 s) until `stop()`; a failed sweep is logged and tried again next time. */
export function startTtlSweeper(
  doc: DynamoDBDocumentClient,
  options: TtlSweepOptions & { readonly intervalMs?: number } = {},
): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = sweepExpired(doc, options).catch((error: unknown) =>
      options.log?.(`ttl sweep: ${(error as Error).message}`),
    );
  }, options.intervalMs ?? 60_000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
