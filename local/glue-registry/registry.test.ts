import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { dispatch } from './http.js';
import { emptyState, GlueRegistry } from './registry.js';
import { loadState, saveState } from './store.js';

const V1 = JSON.stringify({ type: 'record', name: 'OrderPlaced', fields: [{ name: 'orderId', type: 'string' }] });
const V2 = JSON.stringify({
  type: 'record',
  name: 'OrderPlaced',
  fields: [
    { name: 'orderId', type: 'string' },
    { name: 'note', type: ['null', 'string'], default: null },
  ],
});
const INCOMPATIBLE = JSON.stringify({
  type: 'record',
  name: 'OrderPlaced',
  fields: [
    { name: 'orderId', type: 'string' },
    { name: 'qty', type: 'int' },
  ],
});
const SCHEMA_ID = { RegistryName: 'orderflow', SchemaName: 'orders.raw-value' };

/** A Glue answer, loosely typed: the tests read the fields the API reference names. */
interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers of many shapes, asserted field by field
  readonly body: Record<string, any>;
}

function call(glue: GlueRegistry, action: string, input: unknown): Answer {
  const response = dispatch(glue, {
    method: 'POST',
    path: '/',
    target: `AWSGlue.${action}`,
    body: JSON.stringify(input),
  });
  return { status: response.status, headers: response.headers, body: JSON.parse(response.body) };
}

function withSchema(compatibility = 'BACKWARD') {
  const glue = new GlueRegistry(emptyState());
  call(glue, 'CreateRegistry', { RegistryName: 'orderflow' });
  const created = call(glue, 'CreateSchema', {
    RegistryId: { RegistryName: 'orderflow' },
    SchemaName: 'orders.raw-value',
    DataFormat: 'AVRO',
    Compatibility: compatibility,
    SchemaDefinition: V1,
  });
  return { glue, v1: created.body.SchemaVersionId as string, created };
}

describe('dispatch', () => {
  it('answers JSON 1.1 with a request id', () => {
    // Act
    const { status, headers, body } = call(new GlueRegistry(emptyState()), 'CreateRegistry', {
      RegistryName: 'orderflow',
    });

    // Assess
    expect(status).toBe(200);
    expect(headers['Content-Type']).toBe('application/x-amz-json-1.1');
    expect(headers['x-amzn-RequestId']).toMatch(/^[0-9a-f-]{36}$/);
    expect(body).toEqual({
      RegistryArn: 'arn:aws:glue:us-east-1:000000000000:registry/orderflow',
      RegistryName: 'orderflow',
    });
  });

  it('fails with UnknownOperationException for an action it does not emulate', () => {
    // Act
    const { status, body } = call(new GlueRegistry(emptyState()), 'GetTable', {});

    // Assess
    expect(status).toBe(400);
    expect(body.__type).toBe('UnknownOperationException');
  });

  it('fails with SerializationException when the body is not JSON', () => {
    // Act
    const response = dispatch(new GlueRegistry(emptyState()), {
      method: 'POST',
      path: '/',
      target: 'AWSGlue.GetRegistry',
      body: '{',
    });

    // Assess
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({ __type: 'SerializationException' });
  });
});

describe('GlueRegistry', () => {
  it('creates a schema with its first version AVAILABLE', () => {
    // Act
    const { created, glue, v1 } = withSchema();

    // Assess
    expect(created.body).toMatchObject({
      RegistryName: 'orderflow',
      SchemaName: 'orders.raw-value',
      SchemaArn: 'arn:aws:glue:us-east-1:000000000000:schema/orderflow/orders.raw-value',
      DataFormat: 'AVRO',
      Compatibility: 'BACKWARD',
      LatestSchemaVersion: 1,
      NextSchemaVersion: 2,
      SchemaStatus: 'AVAILABLE',
      SchemaVersionStatus: 'AVAILABLE',
    });
    expect(v1).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(call(glue, 'GetSchemaVersion', { SchemaVersionId: v1 }).body).toMatchObject({
      SchemaVersionId: v1,
      SchemaDefinition: V1,
      DataFormat: 'AVRO',
      VersionNumber: 1,
      Status: 'AVAILABLE',
    });
  });

  it('fails with AlreadyExistsException for a second registry or schema of the same name', () => {
    // Prepare
    const { glue } = withSchema();

    // Act
    const registry = call(glue, 'CreateRegistry', { RegistryName: 'orderflow' });
    const schema = call(glue, 'CreateSchema', {
      RegistryId: { RegistryName: 'orderflow' },
      SchemaName: 'orders.raw-value',
      DataFormat: 'AVRO',
    });

    // Assess
    expect(registry.body.__type).toBe('AlreadyExistsException');
    expect(schema.body.__type).toBe('AlreadyExistsException');
  });

  it('returns the existing version when a definition is registered again, even re-indented', () => {
    // Prepare
    const { glue, v1 } = withSchema();

    // Act
    const again = call(glue, 'RegisterSchemaVersion', {
      SchemaId: SCHEMA_ID,
      SchemaDefinition: JSON.stringify(JSON.parse(V1), null, 2),
    });

    // Assess
    expect(again.body).toEqual({ SchemaVersionId: v1, VersionNumber: 1, Status: 'AVAILABLE' });
    expect(call(glue, 'GetSchema', { SchemaId: SCHEMA_ID }).body.LatestSchemaVersion).toBe(1);
  });

  it('registers a BACKWARD-compatible definition as the next AVAILABLE version', () => {
    // Prepare
    const { glue, v1 } = withSchema();

    // Act
    const v2 = call(glue, 'RegisterSchemaVersion', { SchemaId: SCHEMA_ID, SchemaDefinition: V2 });

    // Assess
    expect(v2.body).toMatchObject({ VersionNumber: 2, Status: 'AVAILABLE' });
    expect(v2.body.SchemaVersionId).not.toBe(v1);
    const latest = call(glue, 'GetSchemaVersion', {
      SchemaId: SCHEMA_ID,
      SchemaVersionNumber: { LatestVersion: true },
    });
    expect(latest.body).toMatchObject({ SchemaVersionId: v2.body.SchemaVersionId, SchemaDefinition: V2 });
  });

  it('registers an incompatible definition as a FAILURE version that takes its number and is never latest', () => {
    // Prepare
    const logged: string[] = [];
    const glue = new GlueRegistry(emptyState(), { log: (m) => logged.push(m) });
    call(glue, 'CreateRegistry', { RegistryName: 'orderflow' });
    const v1 = call(glue, 'CreateSchema', {
      RegistryId: { RegistryName: 'orderflow' },
      SchemaName: 'orders.raw-value',
      DataFormat: 'AVRO',
      Compatibility: 'BACKWARD',
      SchemaDefinition: V1,
    }).body.SchemaVersionId;

    // Act
    const failed = call(glue, 'RegisterSchemaVersion', { SchemaId: SCHEMA_ID, SchemaDefinition: INCOMPATIBLE });

    // Assess
    expect(failed.status).toBe(200);
    expect(failed.body).toMatchObject({ VersionNumber: 2, Status: 'FAILURE' });
    expect(logged.join('\n')).toMatch(/orders\.raw-value v2 FAILURE .*qty/);
    expect(
      call(glue, 'GetSchemaVersion', { SchemaId: SCHEMA_ID, SchemaVersionNumber: { LatestVersion: true } }).body
        .SchemaVersionId,
    ).toBe(v1);
    expect(
      call(glue, 'GetSchemaByDefinition', { SchemaId: SCHEMA_ID, SchemaDefinition: INCOMPATIBLE }).body,
    ).toMatchObject({ SchemaVersionId: failed.body.SchemaVersionId, Status: 'FAILURE' });
    expect(call(glue, 'GetSchema', { SchemaId: SCHEMA_ID }).body).toMatchObject({
      LatestSchemaVersion: 2,
      NextSchemaVersion: 3,
    });
  });

  it('checks FORWARD, FULL and the _ALL modes in their directions', () => {
    // Prepare: dropping a default-less field is FORWARD- but not BACKWARD-compatible the other way round.
    const { glue } = withSchema('FORWARD');
    call(glue, 'RegisterSchemaVersion', { SchemaId: SCHEMA_ID, SchemaDefinition: INCOMPATIBLE });

    // Act
    const full = withSchema('FULL');
    const fullResult = call(full.glue, 'RegisterSchemaVersion', { SchemaId: SCHEMA_ID, SchemaDefinition: V2 });
    const none = withSchema('NONE');
    const noneResult = call(none.glue, 'RegisterSchemaVersion', {
      SchemaId: SCHEMA_ID,
      SchemaDefinition: INCOMPATIBLE,
    });

    // Assess: a new default-less field can be ignored by the old reader (FORWARD holds).
    expect(
      call(glue, 'ListSchemaVersions', { SchemaId: SCHEMA_ID }).body.Schemas.map(
        (s: { Status?: string; VersionNumber?: number }) => s.Status,
      ),
    ).toEqual(['AVAILABLE', 'AVAILABLE']);
    expect(fullResult.body.Status).toBe('AVAILABLE');
    expect(noneResult.body.Status).toBe('AVAILABLE');
  });

  it('fails with InvalidInputException for invalid Avro and stores nothing', () => {
    // Prepare
    const { glue } = withSchema();

    // Act
    const invalid = call(glue, 'RegisterSchemaVersion', {
      SchemaId: SCHEMA_ID,
      SchemaDefinition: '{"type":"nosuchtype"}',
    });
    const notJson = call(glue, 'CreateSchema', {
      RegistryId: { RegistryName: 'orderflow' },
      SchemaName: 'other',
      DataFormat: 'AVRO',
      SchemaDefinition: '{',
    });

    // Assess
    expect(invalid.status).toBe(400);
    expect(invalid.body.__type).toBe('InvalidInputException');
    expect(invalid.body.Message).toMatch(/nosuchtype/);
    expect(notJson.body.__type).toBe('InvalidInputException');
    expect(call(glue, 'GetSchema', { SchemaId: SCHEMA_ID }).body.LatestSchemaVersion).toBe(1);
    expect(call(glue, 'ListSchemas', {}).body.Schemas).toHaveLength(1);
  });

  it('fails with EntityNotFoundException for an unknown version id, schema or registry', () => {
    // Prepare
    const { glue } = withSchema();

    // Act
    const byId = call(glue, 'GetSchemaVersion', { SchemaVersionId: '00000000-0000-4000-8000-000000000000' });
    const schema = call(glue, 'RegisterSchemaVersion', {
      SchemaId: { RegistryName: 'orderflow', SchemaName: 'nope' },
      SchemaDefinition: V1,
    });
    const registry = call(glue, 'GetRegistry', { RegistryId: { RegistryName: 'nope' } });

    // Assess
    expect([byId, schema, registry].map((r) => [r.status, r.body.__type])).toEqual([
      [400, 'EntityNotFoundException'],
      [400, 'EntityNotFoundException'],
      [400, 'EntityNotFoundException'],
    ]);
  });

  it('fails with InvalidInputException when GetSchemaVersion names both an id and a schema', () => {
    // Prepare
    const { glue, v1 } = withSchema();

    // Act
    const both = call(glue, 'GetSchemaVersion', { SchemaVersionId: v1, SchemaId: SCHEMA_ID });

    // Assess
    expect(both.body.__type).toBe('InvalidInputException');
  });

  it('finds a schema by its ARN and a version by its number', () => {
    // Prepare
    const { glue, v1 } = withSchema();
    call(glue, 'RegisterSchemaVersion', { SchemaId: SCHEMA_ID, SchemaDefinition: V2 });

    // Act
    const found = call(glue, 'GetSchemaVersion', {
      SchemaId: { SchemaArn: 'arn:aws:glue:us-east-1:000000000000:schema/orderflow/orders.raw-value' },
      SchemaVersionNumber: { VersionNumber: 1 },
    });

    // Assess
    expect(found.body.SchemaVersionId).toBe(v1);
  });

  it('pages ListSchemaVersions with NextToken', () => {
    // Prepare
    const { glue } = withSchema();
    call(glue, 'RegisterSchemaVersion', { SchemaId: SCHEMA_ID, SchemaDefinition: V2 });

    // Act
    const first = call(glue, 'ListSchemaVersions', { SchemaId: SCHEMA_ID, MaxResults: 1 });
    const second = call(glue, 'ListSchemaVersions', {
      SchemaId: SCHEMA_ID,
      MaxResults: 1,
      NextToken: first.body.NextToken,
    });

    // Assess
    expect(first.body.Schemas.map((s: { Status?: string; VersionNumber?: number }) => s.VersionNumber)).toEqual([1]);
    expect(second.body.Schemas.map((s: { Status?: string; VersionNumber?: number }) => s.VersionNumber)).toEqual([2]);
    expect(second.body.NextToken).toBeUndefined();
  });
});

describe('the state file', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orderflow-glue-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps every version id across a reload', () => {
    // Prepare
    const file = path.join(dir, 'state.json');
    const glue = new GlueRegistry(emptyState(), { onChange: (state) => saveState(file, state) });
    call(glue, 'CreateRegistry', { RegistryName: 'orderflow' });
    const v1 = call(glue, 'CreateSchema', {
      RegistryId: { RegistryName: 'orderflow' },
      SchemaName: 'orders.raw-value',
      DataFormat: 'AVRO',
      SchemaDefinition: V1,
    }).body.SchemaVersionId;

    // Act
    const reloaded = new GlueRegistry(loadState(file));

    // Assess
    expect(call(reloaded, 'GetSchemaVersion', { SchemaVersionId: v1 }).body.SchemaDefinition).toBe(V1);
    expect(call(reloaded, 'RegisterSchemaVersion', { SchemaId: SCHEMA_ID, SchemaDefinition: V1 }).body).toMatchObject({
      SchemaVersionId: v1,
    });
    expect(JSON.parse(readFileSync(file, 'utf8')).formatVersion).toBe(1);
  });

  it('fails naming the file when it is not JSON', () => {
    // Prepare
    const file = path.join(dir, 'broken.json');
    saveState(file, emptyState());
    writeFileSync(file, '{');

    // Act / Assess
    expect(() => loadState(file)).toThrow(/broken\.json is not the Glue emulator's state/);
  });
});
