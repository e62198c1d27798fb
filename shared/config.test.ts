import { describe, expect, it } from '@jest/globals';
import { kafkaEnv, loadConfig } from './config.js';
import { ConfigError } from './errors.js';

describe('kafkaEnv', () => {
  it('defaults to the Confluent registry, which needs SCHEMA_REGISTRY_URL', () => {
    // Act
    const load = () => loadConfig(kafkaEnv, { KAFKA_BROKERS: 'b:9092' });

    // Assess
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(
      "invalid configuration: SCHEMA_REGISTRY_URL is required when SCHEMA_REGISTRY is 'confluent' (the default), but not set",
    );
  });

  it('fails naming GLUE_REGISTRY_NAME when SCHEMA_REGISTRY is glue without it', () => {
    // Act
    const load = () => loadConfig(kafkaEnv, { KAFKA_BROKERS: 'b:9092', SCHEMA_REGISTRY: 'glue' });

    // Assess
    expect(load).toThrow(
      "invalid configuration: GLUE_REGISTRY_NAME is required when SCHEMA_REGISTRY is 'glue', but not set",
    );
  });

  it('takes Glue mode with a registry name and no URL, and both registries during a migration', () => {
    // Act
    const glue = loadConfig(kafkaEnv, {
      KAFKA_BROKERS: 'b:9092',
      SCHEMA_REGISTRY: 'glue',
      GLUE_REGISTRY_NAME: 'orderflow',
    });
    const both = loadConfig(kafkaEnv, {
      KAFKA_BROKERS: 'b:9092',
      SCHEMA_REGISTRY: 'glue',
      GLUE_REGISTRY_NAME: 'orderflow',
      SCHEMA_REGISTRY_URL: 'https://registry.example.com',
    });

    // Assess
    expect(glue).toMatchObject({ SCHEMA_REGISTRY: 'glue', GLUE_REGISTRY_NAME: 'orderflow' });
    expect(glue.SCHEMA_REGISTRY_URL).toBeUndefined();
    expect(both).toMatchObject({ SCHEMA_REGISTRY: 'glue', SCHEMA_REGISTRY_URL: 'https://registry.example.com' });
  });

  it('refuses an unknown registry kind, naming the value', () => {
    // Act
    const load = () => loadConfig(kafkaEnv, { KAFKA_BROKERS: 'b:9092', SCHEMA_REGISTRY: 'avro' });

    // Assess
    expect(load).toThrow(/SCHEMA_REGISTRY: .*glue.*confluent/);
  });
});
