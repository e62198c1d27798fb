/**
 * Reading a Kafka batch's items in one call: the saga steps (reserve-inventory, process-payment) read each
 * order's marker before they act on it. `batchGetByIds` reads the markers of a whole batch in one consistent
 * BatchGetItem per 100 keys, and `takeOnce` hands each one out to the first read only, so a second record of the
 * same order in the batch (a duplicate, or the other topic's event) reads what the first one wrote.
 */
import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** BatchGetItem reads at most 100 keys per call. */
const BATCH_GET_LIMIT = 100;

/**
 * The items of `ids` (a `pk`-keyed table, `keyOf(id)` its key), read consistently, without their `pk` attribute, by
 * id: `undefined` for an id read and absent. An id whose key DynamoDB left unprocessed is not in the map, so its
 * reader falls back to its own read
 * (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html).
 *
 * @example
 * const records = await batchGetByIds<PaymentRecord>(client, tableName, orderIds, (id) => `PAYMENT#${id}`);
 */
export async function batchGetByIds<T>(
  client: DynamoDBDocumentClient,
  tableName: string,
  ids: readonly string[],
  keyOf: (id: string) => string,
): Promise<Map<string, T | undefined>> {
  const idOf = new Map([...new Set(ids)].map((id) => [keyOf(id), id]));
  const keys = [...idOf.keys()];
  const found = new Map<string, T | undefined>();
  for (let i = 0; i < keys.length; i += BATCH_GET_LIMIT) {
    const chunk = keys.slice(i, i + BATCH_GET_LIMIT);
    const result = await client.send(
      new BatchGetCommand({
        RequestItems: { [tableName]: { Keys: chunk.map((pk) => ({ pk })), ConsistentRead: true } },
      }),
    );
    const unprocessed = new Set((result.UnprocessedKeys?.[tableName]?.Keys ?? []).map((key) => String(key.pk)));
    for (const pk of chunk) if (!unprocessed.has(pk)) found.set(idOf.get(pk) as string, undefined);
    for (const { pk, ...rest } of result.Responses?.[tableName] ?? [])
      found.set(idOf.get(String(pk)) as string, rest as T);
  }
  return found;
}

/**
 * A read that serves each key of `snapshot` once, then reads through `read`. A snapshot is a consistent read
 * taken earlier in the invocation; every write after it stays conditional, so acting on it is acting on a read
 * made a moment sooner. A key is served once because the record that reads it may write it: a later record of
 * the same order must see that write.
 *
 * @example
 * const get = takeOnce(await store.getMany(orderIds), (orderId) => store.get(orderId));
 */
export function takeOnce<T>(
  snapshot: ReadonlyMap<string, T | undefined>,
  read: (key: string) => Promise<T | undefined>,
): (key: string) => Promise<T | undefined> {
  const left = new Map(snapshot);
  return async (key) => {
    if (!left.has(key)) return read(key);
    const value = left.get(key);
    left.delete(key);
    return value;
  };
}
