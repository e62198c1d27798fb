/** Staleness test of the generated validate-order fixtures: each file is what its generator writes today. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { fixtureText, validateOrderFixtures } from './generate.js';

describe('events/validate-order fixtures', () => {
  it('are byte-identical to what the generator writes (run npm run fixtures)', async () => {
    // Act
    const fixtures = await validateOrderFixtures();

    // Assess
    expect(Object.keys(fixtures)).toContain('glue-batch.json');
    expect(Object.keys(fixtures)).toContain('mixed-batch.json');
    for (const [name, value] of Object.entries(fixtures)) {
      const recorded = readFileSync(new URL(name, import.meta.url), 'utf8');
      expect({ name, same: recorded === fixtureText(value) }).toEqual({ name, same: true });
    }
  });
});
