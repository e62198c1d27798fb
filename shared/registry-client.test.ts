import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { SchemaNotFoundError } from './codec.js';
import { RegistryResponseError, registryClient } from './registry-client.js';
import { registrySchemaSource } from './schema-registry.js';

const JSON_TYPE = { 'content-type': 'application/vnd.schemaregistry.v1+json' };

/** A fetch that answers from `responses` in order and records each request. */
function fakeFetch(responses: (() => Response)[]) {
  const calls: { url: string; headers: Record<string, string> }[] = [];
  const fetch = (async (url: string, init: { headers: Record<string, string> }) => {
    calls.push({ url, headers: init.headers });
    const next = responses.shift();
    if (!next) throw new Error('unexpected request');
    return next();
  }) as unknown as typeof globalThis.fetch;
  return { fetch, calls };
}

const json = (status: number, body: unknown) => () =>
  new Response(JSON.stringify(body), { status, headers: JSON_TYPE });

/** A registry on loopback answering every request with `answer`. */
async function loopbackRegistry(answer: (request: IncomingMessage) => [number, unknown]) {
  const paths: string[] = [];
  const server = createServer((request, response) => {
    paths.push(request.url ?? '');
    const [status, body] = answer(request);
    response.writeHead(status, JSON_TYPE);
    response.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { host: `http://127.0.0.1:${port}`, paths, close: () => server.close() };
}

describe('registryClient', () => {
  it('reads the latest version of a subject, encoding the subject and sending basic auth', async () => {
    // Prepare
    const { fetch, calls } = fakeFetch([json(200, { subject: 'a/b', id: 7, version: 3, schema: '"string"' })]);
    const client = registryClient({ host: 'https://r.example/', fetch });

    // Act
    const latest = await client.latestVersion('a/b', { username: 'svc', password: 'pw' });

    // Assess
    expect(latest).toEqual({ subject: 'a/b', id: 7, version: 3, schema: '"string"' });
    expect(calls).toEqual([
      {
        url: 'https://r.example/subjects/a%2Fb/versions/latest',
        headers: {
          accept: 'application/vnd.schemaregistry.v1+json',
          authorization: `Basic ${Buffer.from('svc:pw').toString('base64')}`,
        },
      },
    ]);
  });

  it('reads a schema by id without an Authorization header when no credentials are given', async () => {
    const { fetch, calls } = fakeFetch([json(200, { schema: '{"type":"record","name":"A","fields":[]}' })]);

    const found = await registryClient({ host: 'http://r', fetch }).schemaById(12);

    expect(found.schema).toBe('{"type":"record","name":"A","fields":[]}');
    expect(calls[0]?.url).toBe('http://r/schemas/ids/12');
    expect(calls[0]?.headers.authorization).toBeUndefined();
  });

  it('retries 5xx answers and network errors, then returns the answer', async () => {
    const { fetch, calls } = fakeFetch([
      json(503, { error_code: 50003, message: 'busy' }),
      () => {
        throw new TypeError('fetch failed');
      },
      json(200, { schema: '"int"' }),
    ]);

    const found = await registryClient({ host: 'http://r', fetch, initialRetryMs: 1 }).schemaById(1);

    expect(found.schema).toBe('"int"');
    expect(calls).toHaveLength(3);
  });

  it('fails with the status and the registry message when retries run out', async () => {
    const { fetch, calls } = fakeFetch([
      json(500, { message: 'a' }),
      json(500, { message: 'b' }),
      json(500, { message: 'c' }),
    ]);

    const error = await registryClient({ host: 'http://r', fetch, initialRetryMs: 1 })
      .schemaById(1)
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RegistryResponseError);
    expect((error as RegistryResponseError).status).toBe(500);
    expect((error as Error).message).toBe('schema registry GET http://r/schemas/ids/1: c');
    expect(calls).toHaveLength(3);
  });

  it('fails at once on a 4xx, without retrying', async () => {
    const { fetch, calls } = fakeFetch([json(404, { error_code: 40403, message: 'Schema not found' })]);

    const error = await registryClient({ host: 'http://r', fetch })
      .schemaById(99)
      .catch((e: unknown) => e);

    expect((error as RegistryResponseError).status).toBe(404);
    expect(calls).toHaveLength(1);
  });
});

describe('registrySchemaSource', () => {
  it('returns the registered schema text and the latest id', async () => {
    // Prepare
    const schema = '{"type":"record","name":"OrderPlaced","fields":[{"name":"orderId","type":"string"}]}';
    const registry = await loopbackRegistry((request) =>
      request.url?.startsWith('/schemas/ids/')
        ? [200, { schema }]
        : [200, { subject: 'orders.raw-value', id: 4, version: 1, schema }],
    );
    const source = registrySchemaSource({ host: registry.host });

    // Act
    const text = await source.schemaById(4);
    const id = await source.latestSchemaId('orders.raw-value');
    registry.close();

    // Assess
    expect(JSON.parse(text)).toEqual(JSON.parse(schema));
    expect(id).toBe(4);
    expect(registry.paths).toEqual(['/schemas/ids/4', '/subjects/orders.raw-value/versions/latest']);
  });

  it('fails with SchemaNotFoundError when the registry answers 404', async () => {
    const registry = await loopbackRegistry(() => [404, { error_code: 40403, message: 'Schema 9 not found' }]);
    const source = registrySchemaSource({ host: registry.host });

    const byId = await source.schemaById(9).catch((e: unknown) => e);
    const bySubject = await source.latestSchemaId('nope-value').catch((e: unknown) => e);
    registry.close();

    expect(byId).toBeInstanceOf(SchemaNotFoundError);
    expect((byId as Error).message).toBe('schema id 9 not found');
    expect(bySubject).toBeInstanceOf(SchemaNotFoundError);
    expect((bySubject as Error).message).toBe('subject nope-value has no schema: provision the registry first');
  });

  it('fails with an error that is not SchemaNotFoundError when the registry keeps failing (transient)', async () => {
    const registry = await loopbackRegistry(() => [500, { error_code: 50001, message: 'store error' }]);
    const source = registrySchemaSource({ host: registry.host });

    const error = await source.schemaById(1).catch((e: unknown) => e);
    registry.close();

    expect(error).toBeInstanceOf(RegistryResponseError);
    expect(error).not.toBeInstanceOf(SchemaNotFoundError);
    expect(registry.paths).toHaveLength(3);
  });
});
