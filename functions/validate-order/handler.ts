/**
 * validate-order Lambda: orders.raw in, each OrderPlaced priced from the CATALOG table, OrderValidated or
 * OrderRejected out on orders.validated.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { EventCodec } from '../../shared/codec.js';
import { kafkaEnv, loadConfig } from '../../shared/config.js';
import { TransientError } from '../../shared/errors.js';
import type { EventPublisher } from '../../shared/kafka.js';
import { kafkaHandler } from '../../shared/lambda.js';
import type { DeadLetterSink } from '../../shared/msk.js';
import { logger, metrics } from '../../shared/observability.js';
import { kafkaRuntime } from '../../shared/runtime.js';
import { type Catalog, CONSUMER, catalogKeysOf, validateOrder } from './validate-order.js';

/** Environment of validate-order: the Kafka variables plus the catalog table. */
export const validateOrderEnv = kafkaEnv.extend({ CATALOG_TABLE: z.string().min(1) });

/** Parsed validate-order configuration. */
export type ValidateOrderConfig = z.infer<typeof validateOrderEnv>;

/** Reads and validates the configuration; throws `ConfigError` naming each missing variable. */
export function loadValidateOrderConfig(env: NodeJS.ProcessEnv = process.env): ValidateOrderConfig {
  return loadConfig(validateOrderEnv, env);
}

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

/** What `createHandler` needs; tests pass an in-memory Kafka and a catalog over a mocked document client. */
export interface ValidateOrderDeps {
  readonly codec: EventCodec;
  readonly deadLetters: DeadLetterSink;
  readonly publisher: EventPublisher;
  readonly catalog: Catalog;
  /** Epoch milliseconds. @default - the system clock */
  readonly clock?: () => number;
}

/** The validate-order handler over `deps`. */
export function createHandler(deps: ValidateOrderDeps) {
  const ports = { catalog: deps.catalog, publisher: deps.publisher, clock: deps.clock ?? Date.now };
  return kafkaHandler({
    consumer: CONSUMER,
    codec: deps.codec,
    deadLetters: deps.deadLetters,
    // The SKUs and customers of the whole batch in one BatchGetItem, instead of two per record.
    prepare: async (events) => {
      const { skus, customerIds } = catalogKeysOf(events);
      try {
        return (await deps.catalog.preload?.(skus, customerIds)) ?? deps.catalog;
      } catch (error) {
        logger.warn('catalog of the batch could not be read up front; reading it per record', { error });
        return deps.catalog;
      }
    },
    handle: async (event, _record, trace, catalog) => {
      const result = await validateOrder(event, { ...ports, catalog }, trace);
      switch (result.outcome) {
        case 'IGNORED':
          logger.debug('event type not handled; ignored', { type: result.type });
          return;
        case 'OrderValidated':
          logger.info('order validated', { totalCents: result.event.totalCents, currency: result.event.currency });
          metrics.addMetric('OrdersValidated', MetricUnit.Count, 1);
          return;
        case 'OrderRejected':
          logger.info('order rejected', { reason: result.event.reason, detail: result.event.detail });
          metrics.addMetric('OrdersRejected', MetricUnit.Count, 1);
          return;
      }
    },
  });
}

/** Clients of the deployed function, created once per cold start; a missing variable throws `ConfigError`. */
export function defaultDeps(env: NodeJS.ProcessEnv = process.env): ValidateOrderDeps {
  const config = loadValidateOrderConfig(env);
  const kafka = kafkaRuntime(config, CONSUMER);
  const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({ region: config.AWS_REGION }));
  return {
    codec: kafka.codec,
    deadLetters: kafka.deadLetters,
    publisher: kafka.publisher,
    catalog: dynamoCatalog(documentClient, config.CATALOG_TABLE),
  };
}

/** Lambda entry point. */
export const handler = createHandler(defaultDeps());
