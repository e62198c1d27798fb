/**
 * Loads `local/seed.json` into the emulator's catalog and inventory tables. Prices are always written; stock
 * only when the SKU has no stock row yet (or `resetStock`), so restarting `npm run dev` keeps reservations.
 */
import { readFileSync } from 'node:fs';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import * as z from '../../shared/zod.js';

const seedSchema = z.object({
  skus: z.array(
    z.object({
      sku: z.string().check(z.minLength(1)),
      name: z.string(),
      prices: z.record(z.string(), z.int().check(z.nonnegative())),
      stock: z.int().check(z.nonnegative()),
    }),
  ),
  blockedCustomers: z.array(z.string()),
});

/** The parsed seed file. */
export type Seed = z.infer<typeof seedSchema>;

/** Reads and validates a seed file. */
export function readSeed(path: URL = new URL('../seed.json', import.meta.url)): Seed {
  return seedSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
}

/** Writes the seed into the catalog and inventory tables; returns how many items were written. */
export async function applySeed(
  doc: DynamoDBDocumentClient,
  tables: { catalog: string; inventory: string },
  seed: Seed,
  options: { resetStock?: boolean } = {},
): Promise<number> {
  let written = 0;
  for (const item of seed.skus) {
    await doc.send(
      new PutCommand({
        TableName: tables.catalog,
        Item: { pk: `SKU#${item.sku}`, sku: item.sku, name: item.name, prices: item.prices },
      }),
    );
    written += 1;
    try {
      await doc.send(
        new PutCommand({
          TableName: tables.inventory,
          Item: { pk: `SKU#${item.sku}`, sku: item.sku, available: item.stock },
          ...(options.resetStock ? {} : { ConditionExpression: 'attribute_not_exists(pk)' }),
        }),
      );
      written += 1;
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    }
  }
  for (const customerId of seed.blockedCustomers) {
    await doc.send(
      new PutCommand({ TableName: tables.catalog, Item: { pk: `CUSTOMER#${customerId}`, blocked: true } }),
    );
    written += 1;
  }
  return written;
}
