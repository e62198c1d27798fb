import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { functionLogicalId } from '../../infra/orderflow-stack.js';
import { type Synthesized, synthOrderflow } from '../../infra/testing.js';
import { FUNCTION_NAMES } from '../../shared/topology.js';
import { SAM_ENV_FILE, samEnvironment } from './sam-env.js';

let synth: Synthesized;

beforeAll(() => {
  // Only the functions' variables matter here: no bundling.
  synth = synthOrderflow({ bundle: false });
}, 120_000);

describe('local/sam-env.json', () => {
  it('stays in step with the stack (regenerate: npm run sam-env)', () => {
    // Act
    const committed = JSON.parse(readFileSync(SAM_ENV_FILE, 'utf8'));

    // Assess
    expect(committed).toEqual(samEnvironment(synth.template));
    expect(Object.keys(committed).sort()).toEqual(FUNCTION_NAMES.map(functionLogicalId).sort());
  });

  it('passes no deploy-time secret reference and points every function at the local stack', () => {
    // Act
    const environments = Object.values(samEnvironment(synth.template));

    // Assess
    for (const env of environments) {
      expect(env).not.toHaveProperty('SCHEMA_REGISTRY_SECRET_ARN');
      expect(env.AWS_ENDPOINT_URL_DYNAMODB).toMatch(/^http:\/\/127\.0\.0\.1:/);
    }
  });
});
