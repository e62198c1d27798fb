/**
 * `npm run schemas:register -- --url https://registry.example.com`: registers each event topic's value schema
 * under `<topic>-value` in a Confluent-compatible registry (the one a deployed stack uses) and sets the subjects
 * to BACKWARD; idempotent. Basic auth from SCHEMA_REGISTRY_USERNAME / SCHEMA_REGISTRY_PASSWORD when set.
 * Confluent mode only: in the default Glue mode the deploy registers the schemas (infra/constructs/glue-schemas.ts).
 */
import { parseArgs } from 'node:util';
import { provisionSchemas } from '../local/provision/schemas.js';

const { values } = parseArgs({ options: { url: { type: 'string' } } });
const url = values.url ?? process.env.SCHEMA_REGISTRY_URL;
if (!url) {
  console.error('schemas:register: --url <registry base URL> (or SCHEMA_REGISTRY_URL) is required');
  process.exit(1);
}
try {
  for (const change of await provisionSchemas(url.replace(/\/+$/, ''))) {
    console.log(`${change.resource}: ${change.action}${change.detail ? ` (${change.detail})` : ''}`);
  }
} catch (error) {
  console.error(`schemas:register: ${(error as Error).message}`);
  process.exit(1);
}
