import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { credentialsTreatedAsExpired, defaultProvider } from './lambda-credentials.js';

const VARIABLES = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_PROFILE',
] as const;

describe('defaultProvider (the bundles’ credential chain)', () => {
  const saved = new Map<string, string | undefined>();
  let server: Server | undefined;

  beforeEach(() => {
    for (const name of VARIABLES) {
      saved.set(name, process.env[name]);
      delete process.env[name];
    }
  });

  afterEach(async () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
  });

  it('reads the role credentials Lambda puts in the environment', async () => {
    // Prepare
    process.env.AWS_ACCESS_KEY_ID = 'ASIAEXAMPLE';
    process.env.AWS_SECRET_ACCESS_KEY = 'secret';
    process.env.AWS_SESSION_TOKEN = 'token';
    process.env.AWS_PROFILE = 'ignored-in-bundles';

    // Act
    const credentials = await defaultProvider()();

    // Assess
    expect(credentials).toMatchObject({ accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' });
  });

  it('reads a container credential endpoint when the environment has no keys', async () => {
    // Prepare
    const expiration = new Date(Date.now() + 3_600_000).toISOString();
    const authorizations: (string | undefined)[] = [];
    server = createServer((request, response) => {
      authorizations.push(request.headers.authorization);
      response.setHeader('content-type', 'application/json');
      response.end(
        JSON.stringify({ AccessKeyId: 'ASIACONTAINER', SecretAccessKey: 's', Token: 't', Expiration: expiration }),
      );
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = `http://127.0.0.1:${(server.address() as AddressInfo).port}/creds`;
    process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN = 'container-token';

    // Act
    const credentials = await defaultProvider()();

    // Assess
    expect(credentials).toMatchObject({ accessKeyId: 'ASIACONTAINER', secretAccessKey: 's', sessionToken: 't' });
    expect(credentials.expiration?.toISOString()).toBe(expiration);
    expect(authorizations).toEqual(['container-token']);
  });

  it('fails naming the variables it reads when there are no credentials', async () => {
    // Act
    const resolving = defaultProvider()();

    // Assess
    await expect(resolving).rejects.toThrow(
      /no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY .*AWS_CONTAINER_CREDENTIALS_FULL_URI/,
    );
  });

  it('treats credentials expiring within five minutes as expired, as the SDK does', () => {
    // Assess
    expect(credentialsTreatedAsExpired({ accessKeyId: 'a', secretAccessKey: 's' })).toBe(false);
    expect(
      credentialsTreatedAsExpired({
        accessKeyId: 'a',
        secretAccessKey: 's',
        expiration: new Date(Date.now() + 60_000),
      }),
    ).toBe(true);
    expect(
      credentialsTreatedAsExpired({
        accessKeyId: 'a',
        secretAccessKey: 's',
        expiration: new Date(Date.now() + 600_000),
      }),
    ).toBe(false);
  });
});
