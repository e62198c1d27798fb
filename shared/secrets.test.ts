import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { kafkaEnv, loadConfig } from './config.js';
import { ConfigError, TransientError } from './errors.js';
import { registrySchemaSource } from './schema-registry.js';
import { cachedSecret, readRegistryCredentials, registryCredentialsOf } from './secrets.js';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:orderflow/registry-AbCdEf';
const BASE = { KAFKA_BROKERS: 'b:9098', AWS_REGION: 'us-east-1' };

function secretsMock(secretString: string | (() => never)) {
  const mock = mockClient(SecretsManagerClient);
  if (typeof secretString === 'string') {
    mock.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ SecretString: secretString });
  } else {
    mock.on(GetSecretValueCommand).callsFake(secretString);
  }
  return mock;
}

describe('registry credentials from Secrets Manager', () => {
  it('reads the secret once at cold start and serves every later use from the cache', async () => {
    // Prepare
    const mock = secretsMock('{"username":"svc-orderflow","password":"s3cret"}');
    const config = loadConfig(kafkaEnv, {
      ...BASE,
      SCHEMA_REGISTRY_URL: 'https://r.example',
      SCHEMA_REGISTRY_SECRET_ARN: ARN,
    });

    // Act
    const secret = registryCredentialsOf(config, () => new SecretsManagerClient({ region: 'us-east-1' }));
    const calledAtInit = mock.commandCalls(GetSecretValueCommand).length;
    const first = await secret?.get();
    const second = await secret?.get();

    // Assess
    expect(calledAtInit).toBe(1);
    expect(first).toEqual({ username: 'svc-orderflow', password: 's3cret' });
    expect(second).toBe(first);
    expect(mock.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(mock.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({ SecretId: ARN });
    mock.restore();
  });

  it('reads the secret again after refresh (rotation)', async () => {
    const mock = secretsMock('{"username":"u","password":"p1"}');
    const secret = cachedSecret(() => readRegistryCredentials(new SecretsManagerClient({}), ARN));
    await secret.get();
    mock.on(GetSecretValueCommand).resolves({ SecretString: '{"username":"u","password":"p2"}' });

    secret.refresh();

    await expect(secret.get()).resolves.toEqual({ username: 'u', password: 'p2' });
    mock.restore();
  });

  it('fails transiently when Secrets Manager cannot be reached, and tries again on the next use', async () => {
    const mock = secretsMock(() => {
      throw new Error('connect ETIMEDOUT');
    });
    const secret = cachedSecret(() => readRegistryCredentials(new SecretsManagerClient({}), ARN));

    await expect(secret.get()).rejects.toThrow(TransientError);
    mock.on(GetSecretValueCommand).resolves({ SecretString: '{"username":"u","password":"p"}' });

    await expect(secret.get()).resolves.toEqual({ username: 'u', password: 'p' });
    mock.restore();
  });

  it('fails when the secret is not {"username","password"}, naming the secret but not its value', async () => {
    const mock = secretsMock('{"user":"u","password":"hunter2"}');

    const error = await readRegistryCredentials(new SecretsManagerClient({}), ARN).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      `registry secret ${ARN} must hold non-empty "username" and "password" (bad: username)`,
    );
    expect((error as Error).message).not.toContain('hunter2');
    mock.restore();
  });

  it('sends the credentials from the secret to the registry, reading the secret again after a 401', async () => {
    // Prepare: a registry on loopback that accepts only the rotated password.
    const mock = secretsMock('{"username":"svc","password":"old"}');
    const seen: string[] = [];
    const server = createServer((request, response) => {
      const authorization = request.headers.authorization ?? '';
      seen.push(Buffer.from(authorization.replace('Basic ', ''), 'base64').toString());
      const ok = authorization === `Basic ${Buffer.from('svc:new').toString('base64')}`;
      response.writeHead(ok ? 200 : 401, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
      response.end(JSON.stringify(ok ? { id: 7, version: 1, schema: '"string"' } : { error_code: 401 }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const source = registrySchemaSource({
      host: `http://127.0.0.1:${port}`,
      auth: cachedSecret(() => readRegistryCredentials(new SecretsManagerClient({}), ARN)),
    });
    await source.latestSchemaId('orders.raw-value').catch(() => undefined);
    mock.on(GetSecretValueCommand).resolves({ SecretString: '{"username":"svc","password":"new"}' });
    seen.length = 0;

    // Act
    const id = await source.latestSchemaId('orders.raw-value').finally(() => server.close());

    // Assess
    expect(id).toBe(7);
    expect(seen).toEqual(['svc:old', 'svc:new']);
    expect(mock.commandCalls(GetSecretValueCommand)).toHaveLength(3);
    mock.restore();
  });

  it('takes SCHEMA_REGISTRY_USERNAME/PASSWORD as they are (local development) and none when unset', async () => {
    const local = loadConfig(kafkaEnv, {
      ...BASE,
      SCHEMA_REGISTRY_URL: 'https://127.0.0.1:8081',
      SCHEMA_REGISTRY_USERNAME: 'dev',
      SCHEMA_REGISTRY_PASSWORD: 'dev',
    });

    await expect(registryCredentialsOf(local)?.get()).resolves.toEqual({ username: 'dev', password: 'dev' });
    expect(registryCredentialsOf(loadConfig(kafkaEnv, { ...BASE, SCHEMA_REGISTRY_URL: 'http://r:8081' }))).toBe(
      undefined,
    );
  });
});

describe('kafkaEnv', () => {
  it('fails when credentials are configured and SCHEMA_REGISTRY_URL is not https, naming the variable', () => {
    const load = () =>
      loadConfig(kafkaEnv, { ...BASE, SCHEMA_REGISTRY_URL: 'http://r.example:8081', SCHEMA_REGISTRY_SECRET_ARN: ARN });
    const loadLocal = () =>
      loadConfig(kafkaEnv, {
        ...BASE,
        SCHEMA_REGISTRY_URL: 'http://r.example:8081',
        SCHEMA_REGISTRY_USERNAME: 'u',
        SCHEMA_REGISTRY_PASSWORD: 'p',
      });

    expect(load).toThrow(
      "invalid configuration: SCHEMA_REGISTRY_URL: must be an https:// URL when registry credentials are set (SCHEMA_REGISTRY_SECRET_ARN), got 'http://r.example:8081'",
    );
    expect(loadLocal).toThrow('SCHEMA_REGISTRY_URL: must be an https:// URL');
  });

  it('accepts http without credentials and defaults POLLER_MODE to provisioned', () => {
    const config = loadConfig(kafkaEnv, { ...BASE, SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081' });

    expect(config.POLLER_MODE).toBe('provisioned');
    expect(
      loadConfig(kafkaEnv, { ...BASE, SCHEMA_REGISTRY_URL: 'http://r', POLLER_MODE: 'on-demand' }).POLLER_MODE,
    ).toBe('on-demand');
    expect(() => loadConfig(kafkaEnv, { ...BASE, SCHEMA_REGISTRY_URL: 'http://r', POLLER_MODE: 'eager' })).toThrow(
      'POLLER_MODE',
    );
  });
});
