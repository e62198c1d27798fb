import { describe, expect, it } from '@jest/globals';
import { localFunctionEnv } from './function-env.js';

const OPTIONS = {
  kafkaBrokers: '127.0.0.1:9092',
  schemaRegistryUrl: 'http://127.0.0.1:8081',
  pollerMode: 'provisioned',
} as const;

describe('localFunctionEnv', () => {
  it('writes with the Confluent-compatible registry by default and can read Glue-framed records too', () => {
    // Act
    const env = localFunctionEnv('validate-order', OPTIONS);

    // Assess
    expect(env).toMatchObject({
      SCHEMA_REGISTRY: 'confluent',
      SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081',
      GLUE_REGISTRY_NAME: 'orderflow',
    });
  });

  it('writes with Glue in glue mode and can still read Confluent-framed records', () => {
    // Act
    const env = localFunctionEnv('validate-order', { ...OPTIONS, schemaRegistry: 'glue' });

    // Assess
    expect(env).toMatchObject({
      SCHEMA_REGISTRY: 'glue',
      GLUE_REGISTRY_NAME: 'orderflow',
      SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081',
    });
  });
});
