import { describe, expect, it } from '@jest/globals';
import { REGISTRY_URLS, type StackState, stackConfig, stackEnv } from './config.js';
import { parseDockerMemory } from './docker.js';

const dockerState: StackState = {
  backend: 'docker',
  schemaRegistryUrl: REGISTRY_URLS.docker,
  startedAt: '2026-01-01T00:00:00.000Z',
};

describe('stackConfig', () => {
  it('uses the variables that are set, trimming trailing slashes', () => {
    // Prepare
    const env = {
      KAFKA_BROKERS: 'b1:9092, b2:9092',
      SCHEMA_REGISTRY_URL: 'http://registry:8081/',
      AWS_ENDPOINT_URL: 'http://emulator:4566/',
      AWS_ENDPOINT_URL_DYNAMODB: 'http://dynamodb:8000/',
      AWS_ENDPOINT_URL_GLUE: 'http://glue:4567/',
      AWS_REGION: 'eu-west-1',
      ORDERFLOW_SCHEMA_REGISTRY: 'glue',
    };

    // Act
    const config = stackConfig(env, dockerState);

    // Assess
    expect(config).toMatchObject({
      kafkaBrokers: ['b1:9092', 'b2:9092'],
      schemaRegistryUrl: 'http://registry:8081',
      awsEndpointUrl: 'http://emulator:4566',
      dynamodbEndpointUrl: 'http://dynamodb:8000',
      glueEndpointUrl: 'http://glue:4567',
      awsRegion: 'eu-west-1',
      schemaRegistryMode: 'glue',
    });
    expect(new Set(Object.values(config.sources))).toEqual(new Set(['environment']));
    expect(Object.keys(config.sources)).toHaveLength(7);
  });

  it('fails naming ORDERFLOW_SCHEMA_REGISTRY when it is neither confluent nor glue', () => {
    // Act + Assess
    expect(() => stackConfig({ ORDERFLOW_SCHEMA_REGISTRY: 'apicurio' }, dockerState)).toThrow(
      "ORDERFLOW_SCHEMA_REGISTRY must be confluent or glue, got 'apicurio'",
    );
  });

  it('takes the registry of the running backend when SCHEMA_REGISTRY_URL is unset', () => {
    // Act
    const config = stackConfig({}, dockerState);

    // Assess
    expect(config.schemaRegistryUrl).toBe('http://127.0.0.1:8081');
    expect(config.sources.SCHEMA_REGISTRY_URL).toBe('running docker stack');
  });

  it('defaults to the no-Docker addresses when nothing is set and no stack was started', () => {
    // Act
    const config = stackConfig({}, undefined);

    // Assess
    expect(config).toMatchObject({
      kafkaBrokers: ['127.0.0.1:9092'],
      schemaRegistryUrl: 'http://127.0.0.1:8081/apis/ccompat/v7',
      awsEndpointUrl: 'http://127.0.0.1:4566',
      dynamodbEndpointUrl: 'http://127.0.0.1:8000',
      glueEndpointUrl: 'http://127.0.0.1:4567',
      awsRegion: 'us-east-1',
      schemaRegistryMode: 'confluent',
    });
  });
});

describe('stackEnv', () => {
  it('gives the functions their variables and dummy emulator credentials only where none are set', () => {
    // Prepare
    const config = stackConfig({}, undefined);

    // Act
    const withoutCredentials = stackEnv(config, {});
    const withCredentials = stackEnv(config, { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' });

    // Assess
    expect(withoutCredentials).toEqual({
      KAFKA_BROKERS: '127.0.0.1:9092',
      KAFKA_AUTH: 'none',
      SCHEMA_REGISTRY: 'confluent',
      SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081/apis/ccompat/v7',
      GLUE_REGISTRY_NAME: 'orderflow',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
      AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:8000',
      AWS_ENDPOINT_URL_GLUE: 'http://127.0.0.1:4567',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });
    expect(withCredentials).toMatchObject({ AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' });
  });
});

describe('parseDockerMemory', () => {
  it('reads the memory column of docker stats in binary and decimal units', () => {
    // Act + Assess
    expect(parseDockerMemory('312.5MiB / 23.5GiB')).toBe(312.5 * 1024 ** 2);
    expect(parseDockerMemory('1.2GiB / 23.5GiB')).toBe(Math.round(1.2 * 1024 ** 3));
    expect(parseDockerMemory('900kB / 1GB')).toBe(900_000);
    expect(parseDockerMemory('--')).toBe(0);
  });
});
