/**
 * `npm run seed -- --catalog-table <name> --inventory-table <name> [--file local/seed.json]`: loads a seed file
 * (SKUs with prices and stock, blocked customers) into the catalog and inventory tables of a deployed stack, with
 * the AWS credentials and region of the environment. Stock is written only for SKUs without a stock row.
 */
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { applySeed, readSeed } from '../local/dev/seed.js';

const { values } = parseArgs({
  options: { 'catalog-table': { type: 'string' }, 'inventory-table': { type: 'string' }, file: { type: 'string' } },
});
const catalog = values['catalog-table'];
const inventory = values['inventory-table'];
if (!catalog || !inventory) {
  console.error('seed: --catalog-table and --inventory-table are required (aws dynamodb list-tables shows them)');
  process.exit(1);
}
const seed = readSeed(values.file ? new URL(values.file, `file://${process.cwd()}/`) : undefined);
const written = await applySeed(DynamoDBDocumentClient.from(new DynamoDBClient({})), { catalog, inventory }, seed);
console.log(`seed: wrote ${written} item(s) into ${catalog} and ${inventory}`);
