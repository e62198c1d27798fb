/** Writes `events/registry.json`: the registry snapshot MSK fixtures are encoded against. */
import { writeFileSync } from 'node:fs';
import { currentRegistrySnapshot } from '../shared/schema-registry.js';

writeFileSync(
  new URL('../events/registry.json', import.meta.url),
  `${JSON.stringify(currentRegistrySnapshot(), null, 2)}\n`,
);
console.log('wrote events/registry.json');
