/**
 * The CATALOG table as a `Catalog`: one BatchGetItem per chunk of keys, unprocessed keys retried with backoff.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import { TransientError } from '../../shared/errors.js';
import type { Catalog } from './validate-order.js';

/** BatchGetItem reads at most 100 keys per call. */
const BATCH_GET_LIMIT = 100;

/** How the catalog retries keys DynamoDB left unprocessed (throttled partitions). */
export interface CatalogRetryOptions {
  /** Calls per chunk of keys, the first included, before the lookup fails as transient. @default 5 */
  readonly attempts?: number;
  /** First backoff in milliseconds, doubled per retry with full jitter. @default 50 */
  readonly baseDelayMs?: number;
}

/**
 * The CATALOG table as a `Catalog`: `SKU#<sku>` items with `prices.<currency>` in cents, `CUSTOMER#<id>` items
 * with `blocked: true`. A SKU without a price in the requested currency is unknown.
 */
export function dynamoCatalog(
  client: DynamoDBDocumentClient,
  tableName: string,
  retry: CatalogRetryOptions = {},
): Catalog {
  const attempts = retry.attempts ?? 5;
  const baseDelayMs = retry.baseDelayMs ?? 50;

  /** Every item found under `pks`, following UnprocessedKeys (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html). */
  async function batchGet(pks: readonly string[]): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    for (let i = 0; i < pks.length; i += BATCH_GET_LIMIT) {
      let keys: Record<string, unknown>[] = pks.slice(i, i + BATCH_GET_LIMIT).map((pk) => ({ pk }));
      for (let attempt = 1; keys.length > 0; attempt += 1) {
        if (attempt > attempts) {
          throw new TransientError(`catalog lookup left ${keys.length} keys unprocessed after ${attempts} attempts`);
        }
        if (attempt > 1) await sleep(Math.random() * baseDelayMs * 2 ** (attempt - 2));
        const result = await client.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: keys } } }));
        items.push(...(result.Responses?.[tableName] ?? []));
        keys = result.UnprocessedKeys?.[tableName]?.Keys ?? [];
      }
    }
    return items;
  }

  const skuKey = (sku: string) => `SKU#${sku}`;
  const customerKey = (customerId: string) => `CUSTOMER#${customerId}`;

  /** A catalog over `loaded` (items by pk, undefined: read and absent) that reads the keys it lacks. */
  const catalogOver = (loaded: ReadonlyMap<string, Record<string, unknown> | undefined>): Catalog => {
    const read = async (pks: readonly string[]) => {
      const missing = pks.filter((pk) => !loaded.has(pk));
      const fetched = missing.length > 0 ? await batchGet(missing) : [];
      const byPk = new Map(fetched.map((item) => [String(item.pk), item]));
      return pks.map((pk) => (loaded.has(pk) ? loaded.get(pk) : byPk.get(pk)));
    };
    return {
      pricesFor: async (skus, currency) => {
        const unique = [...new Set(skus)];
        const items = await read(unique.map(skuKey));
        const prices = new Map<string, number>();
        unique.forEach((sku, i) => {
          const price = (items[i]?.prices as Record<string, unknown> | undefined)?.[currency];
          if (typeof price === 'number' && Number.isSafeInteger(price) && price >= 0) prices.set(sku, price);
        });
        return prices;
      },
      isBlocked: async (customerId) => {
        const [item] = await read([customerKey(customerId)]);
        return item?.blocked === true;
      },
      preload: async (skus, customerIds) => {
        const pks = [...new Set([...skus.map(skuKey), ...customerIds.map(customerKey)])];
        const items = await batchGet(pks.filter((pk) => !loaded.has(pk)));
        const next = new Map(loaded);
        for (const pk of pks) if (!next.has(pk)) next.set(pk, undefined);
        for (const item of items) next.set(String(item.pk), item);
        return catalogOver(next);
      },
    };
  };
  return catalogOver(new Map());
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
