/**
 * Writes `events/registry.json` and `events/glue-registry.json`: the Confluent-compatible and the Glue registry
 * snapshots MSK fixtures are encoded against.
 */
import { writeFileSync } from 'node:fs';
import { currentGlueRegistrySnapshot, currentRegistrySnapshot } from '../shared/schema-registry.js';

for (const [name, snapshot] of [
  ['registry.json', currentRegistrySnapshot()],
  ['glue-registry.json', currentGlueRegistrySnapshot()],
] as const) {
  writeFileSync(new URL(`../events/${name}`, import.meta.url), `${JSON.stringify(snapshot, null, 2)}\n`);
  console.log(`wrote events/${name}`);
}
