import { readFileSync } from 'node:fs';
import {
  EntityNotFoundException,
  GetSchemaVersionCommand,
  GlueClient,
  InternalServiceException,
  ThrottlingException,
} from '@aws-sdk/client-glue';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { SchemaNotFoundError } from './codec.js';
import { TransientError } from './errors.js';
import { glueSchemaSource } from './glue-schema-source.js';
import { codecFromConfig } from './runtime.js';
import { currentGlueRegistrySnapshot } from './schema-registry.js';
import { orderPlacedEvent, recordedGlueRegistry } from './testing/fixtures.js';
import { TOPICS } from './topology.js';

const glue = mockClient(GlueClient);
const VERSION_ID = 'b7b4a7f0-9c96-4e4a-a687-fb5de9ef0c63';
const SCHEMA = '{"type":"record","name":"OrderPlaced","fields":[{"name":"orderId","type":"string"}]}';
const metadata = (httpStatusCode: number) => ({ $metadata: { httpStatusCode }, message: 'from Glue' });

/** A source over the mocked client, with no SDK retries so a failure shows at once. */
const source = () => glueSchemaSource({ registryName: 'orderflow', client: new GlueClient({ maxAttempts: 1 }) });

beforeEach(() => {
  glue.reset();
});

describe('glueSchemaSource', () => {
  it('reads a schema version by its id', async () => {
    // Prepare
    glue
      .on(GetSchemaVersionCommand, { SchemaVersionId: VERSION_ID })
      .resolves({ SchemaVersionId: VERSION_ID, SchemaDefinition: SCHEMA, DataFormat: 'AVRO', Status: 'AVAILABLE' });

    // Act
    const text = await source().schemaById(VERSION_ID);

    // Assess
    expect(text).toBe(SCHEMA);
    expect(glue.commandCalls(GetSchemaVersionCommand).map((c) => c.args[0].input)).toEqual([
      { SchemaVersionId: VERSION_ID },
    ]);
  });

  it("reads the latest version's id of a topic's schema by registry and schema name", async () => {
    glue.on(GetSchemaVersionCommand).resolves({
      SchemaVersionId: VERSION_ID,
      SchemaDefinition: SCHEMA,
      DataFormat: 'AVRO',
      Status: 'AVAILABLE',
      VersionNumber: 3,
    });

    const id = await source().latestSchemaId('orders.raw-value');

    expect(id).toBe(VERSION_ID);
    expect(glue.commandCalls(GetSchemaVersionCommand).map((c) => c.args[0].input)).toEqual([
      {
        SchemaId: { RegistryName: 'orderflow', SchemaName: 'orders.raw-value' },
        SchemaVersionNumber: { LatestVersion: true },
      },
    ]);
  });

  it('skips a latest version that is not AVAILABLE (a failed compatibility check) for the one before it', async () => {
    const SchemaId = { RegistryName: 'orderflow', SchemaName: 'orders.raw-value' };
    glue
      .on(GetSchemaVersionCommand, { SchemaId, SchemaVersionNumber: { LatestVersion: true } })
      .resolves({ SchemaVersionId: 'failed-id', SchemaDefinition: SCHEMA, Status: 'FAILURE', VersionNumber: 4 })
      .on(GetSchemaVersionCommand, { SchemaId, SchemaVersionNumber: { VersionNumber: 3 } })
      .resolves({ SchemaVersionId: VERSION_ID, SchemaDefinition: SCHEMA, Status: 'AVAILABLE', VersionNumber: 3 });

    expect(await source().latestSchemaId('orders.raw-value')).toBe(VERSION_ID);
  });

  it('fails with SchemaNotFoundError when Glue has no such version or schema', async () => {
    glue.on(GetSchemaVersionCommand).rejects(new EntityNotFoundException(metadata(400)));

    const byId = await source()
      .schemaById(VERSION_ID)
      .catch((e: unknown) => e);
    const latest = await source()
      .latestSchemaId('nope-value')
      .catch((e: unknown) => e);

    expect(byId).toBeInstanceOf(SchemaNotFoundError);
    expect((byId as Error).message).toBe(`Glue schema version ${VERSION_ID} not found`);
    expect(latest).toBeInstanceOf(SchemaNotFoundError);
    expect((latest as Error).message).toBe(
      'Glue schema nope-value in registry orderflow not found: provision the registry first',
    );
  });

  it('fails with SchemaNotFoundError on a version that failed or is being deleted, and retryably on a PENDING one', async () => {
    glue
      .on(GetSchemaVersionCommand, { SchemaVersionId: 'failed' })
      .resolves({ SchemaDefinition: SCHEMA, Status: 'FAILURE' })
      .on(GetSchemaVersionCommand, { SchemaVersionId: 'pending' })
      .resolves({ SchemaDefinition: SCHEMA, Status: 'PENDING' });

    const failed = await source()
      .schemaById('failed')
      .catch((e: unknown) => e);
    const pending = await source()
      .schemaById('pending')
      .catch((e: unknown) => e);

    expect(failed).toBeInstanceOf(SchemaNotFoundError);
    expect((failed as Error).message).toBe('Glue schema version failed is FAILURE, not AVAILABLE');
    expect(pending).not.toBeInstanceOf(SchemaNotFoundError);
    expect((pending as Error).message).toBe('Glue schema version pending is PENDING, not AVAILABLE');
  });

  it.each([
    ['throttled', () => new ThrottlingException(metadata(400))],
    ['a 5xx', () => new InternalServiceException(metadata(500))],
  ])('makes a decode fail with TransientError when Glue is %s', async (_case, error) => {
    // Prepare: the codec over the live source, as a function builds it.
    glue.on(GetSchemaVersionCommand).rejects(error());
    const codec = codecFromConfig(
      { SCHEMA_REGISTRY: 'glue', GLUE_REGISTRY_NAME: 'orderflow', AWS_REGION: 'us-east-1' },
      { glueClient: new GlueClient({ maxAttempts: 1 }) },
    );
    const value = Buffer.concat([Buffer.from([3, 0]), Buffer.from(VERSION_ID.replaceAll('-', ''), 'hex')]);

    // Act
    const failure = await codec
      .decode(value, { topic: TOPICS.ORDERS_RAW, partition: 1, offset: '9' })
      .catch((e: unknown) => e);

    // Assess
    expect(failure).toBeInstanceOf(TransientError);
    expect((failure as Error).message).toBe(
      `record orders.raw-1@9: schema registry lookup of Glue schema version ${VERSION_ID} failed`,
    );
    expect((failure as Error).cause).toBeInstanceOf(error().constructor);
  });
});

describe('codecFromConfig', () => {
  it('encodes in the configured Glue registry and decodes what it wrote', async () => {
    // Prepare: the Glue registry answers from the recorded snapshot.
    const snapshot = recordedGlueRegistry();
    glue.on(GetSchemaVersionCommand).callsFake((input) => {
      const id = input.SchemaVersionId ?? snapshot.schemas[input.SchemaId?.SchemaName];
      return { SchemaVersionId: id, SchemaDefinition: snapshot.versions[id], DataFormat: 'AVRO', Status: 'AVAILABLE' };
    });
    const codec = codecFromConfig(
      {
        SCHEMA_REGISTRY: 'glue',
        GLUE_REGISTRY_NAME: 'orderflow',
        SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081',
        AWS_REGION: 'us-east-1',
      },
      { glueClient: new GlueClient({}) },
    );
    const event = orderPlacedEvent();

    // Act
    const encoded = await codec.encode(event);
    const decoded = await codec.decode(encoded.value, { topic: encoded.topic, partition: 0, offset: '0' });
    await codec.encode(event);

    // Assess
    expect(encoded.value.subarray(0, 18).toString('hex')).toBe(
      `0300${(snapshot.schemas['orders.raw-value'] as string).replaceAll('-', '')}`,
    );
    expect(decoded).toEqual(event);
    // One latest lookup and one by id, then cached.
    expect(glue.commandCalls(GetSchemaVersionCommand)).toHaveLength(2);
  });

  it('refuses to encode in a format whose registry is not configured', () => {
    expect(() => codecFromConfig({ SCHEMA_REGISTRY: 'confluent', AWS_REGION: 'us-east-1' })).toThrow(
      'cannot encode in the confluent wire format without its registry (SCHEMA_REGISTRY_URL)',
    );
  });
});

describe('events/glue-registry.json', () => {
  it('is in sync with the schemas and the same on every run (run npm run schemas:gen)', () => {
    const recorded = readFileSync(new URL('../events/glue-registry.json', import.meta.url), 'utf8');

    expect(recorded).toBe(`${JSON.stringify(currentGlueRegistrySnapshot(), null, 2)}\n`);
    expect(currentGlueRegistrySnapshot()).toEqual(currentGlueRegistrySnapshot());
  });
});
