/**
 * Records each changed schema in `schemas/history/<Event>/v<n+1>.avsc`, after checking it is BACKWARD compatible
 * with every earlier version. Run after a schema change, then commit the new version with the change.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type avro from 'avsc';
import { backwardIncompatibility, historyOf } from '../shared/schema-compat.js';
import { EVENT_TYPES } from '../shared/topology.js';

const root = new URL('../', import.meta.url);
const history = new URL('schemas/history/', root);
let failed = false;
for (const type of EVENT_TYPES) {
  const text = readFileSync(new URL(`schemas/${type}.avsc`, root), 'utf8');
  const current = JSON.parse(text) as avro.Schema;
  const versions = historyOf(history, type);
  const last = versions.at(-1);
  if (last && JSON.stringify(last.schema) === JSON.stringify(current)) continue;
  const problems = versions
    .map((v) => [v.version, backwardIncompatibility(current, v.schema)] as const)
    .filter(([, problem]) => problem !== undefined);
  if (problems.length > 0) {
    failed = true;
    for (const [version, problem] of problems) console.error(`${type}: cannot read v${version} data: ${problem}`);
    continue;
  }
  const next = (last?.version ?? 0) + 1;
  writeFileSync(new URL(`${type}/v${next}.avsc`, history), text);
  console.log(`${type}: recorded v${next}`);
}
process.exitCode = failed ? 1 : 0;
