/**
 * The Glue emulator as a process, driven by the real `@aws-sdk/client-glue`. It starts its own server on an
 * ephemeral port with its own state file, so it needs no local stack; it is an integration test because it
 * spawns a process, binds a socket and SIGKILLs the process (unit tests have no network).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CreateRegistryCommand,
  CreateSchemaCommand,
  EntityNotFoundException,
  GetSchemaByDefinitionCommand,
  GetSchemaVersionCommand,
  GlueClient,
  InvalidInputException,
  ListSchemaVersionsCommand,
  RegisterSchemaVersionCommand,
} from '@aws-sdk/client-glue';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort, waitFor } from '../stack/processes.js';
import { SERVER_SCRIPT } from './server.js';

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
const SchemaId = { RegistryName: 'orderflow', SchemaName: 'orders.raw-value' };

const dir = mkdtempSync(path.join(os.tmpdir(), 'orderflow-glue-int-'));
const dataFile = path.join(dir, 'registry.json');
let port: number;
let child: ChildProcess | undefined;
let glue: GlueClient;

async function startServer(): Promise<void> {
  child = spawn(process.execPath, ['--import', 'tsx', SERVER_SCRIPT, '--port', String(port), '--data', dataFile], {
    stdio: 'ignore',
  });
  await waitFor(
    `the Glue emulator on 127.0.0.1:${port}`,
    async () => {
      const response = await fetch(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        headers: { 'X-Amz-Target': 'AWSGlue.ListSchemas', 'Content-Type': 'application/x-amz-json-1.1' },
        body: '{}',
      });
      return response.ok;
    },
    { timeoutMs: 20_000 },
  );
}

async function killServer(): Promise<void> {
  const running = child;
  if (!running || running.exitCode !== null) return;
  const exited = new Promise((resolve) => running.once('exit', resolve));
  running.kill('SIGKILL');
  await exited;
}

beforeAll(async () => {
  port = await freePort();
  await startServer();
  // As the functions find it: the SDK's service-specific variable, no explicit endpoint.
  process.env.AWS_ENDPOINT_URL_GLUE = `http://127.0.0.1:${port}`;
  glue = new GlueClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
}, 30_000);

afterAll(async () => {
  await killServer();
  glue?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('the Glue emulator through @aws-sdk/client-glue', () => {
  let v1: string;
  let v2: string;

  it('creates a registry and a schema with its first version', async () => {
    // Act
    await glue.send(new CreateRegistryCommand({ RegistryName: 'orderflow' }));
    const created = await glue.send(
      new CreateSchemaCommand({
        RegistryId: { RegistryName: 'orderflow' },
        SchemaName: 'orders.raw-value',
        DataFormat: 'AVRO',
        Compatibility: 'BACKWARD',
        SchemaDefinition: V1,
      }),
    );

    // Assess
    expect(created).toMatchObject({ SchemaVersionStatus: 'AVAILABLE', Compatibility: 'BACKWARD', DataFormat: 'AVRO' });
    v1 = created.SchemaVersionId as string;
    const got = await glue.send(new GetSchemaVersionCommand({ SchemaVersionId: v1 }));
    expect(got).toMatchObject({ SchemaDefinition: V1, VersionNumber: 1, Status: 'AVAILABLE' });
  });

  it('returns the existing version id when the same definition is registered again', async () => {
    // Act
    const again = await glue.send(new RegisterSchemaVersionCommand({ SchemaId, SchemaDefinition: V1 }));

    // Assess
    expect(again).toMatchObject({ SchemaVersionId: v1, VersionNumber: 1, Status: 'AVAILABLE' });
  });

  it('registers a compatible v2 as the latest version', async () => {
    // Act
    const registered = await glue.send(new RegisterSchemaVersionCommand({ SchemaId, SchemaDefinition: V2 }));

    // Assess
    expect(registered).toMatchObject({ VersionNumber: 2, Status: 'AVAILABLE' });
    v2 = registered.SchemaVersionId as string;
    const latest = await glue.send(
      new GetSchemaVersionCommand({ SchemaId, SchemaVersionNumber: { LatestVersion: true } }),
    );
    expect(latest.SchemaVersionId).toBe(v2);
  });

  it('registers an incompatible definition as a FAILURE version, never the latest', async () => {
    // Act
    const failed = await glue.send(new RegisterSchemaVersionCommand({ SchemaId, SchemaDefinition: INCOMPATIBLE }));

    // Assess
    expect(failed).toMatchObject({ VersionNumber: 3, Status: 'FAILURE' });
    const byDefinition = await glue.send(
      new GetSchemaByDefinitionCommand({ SchemaId, SchemaDefinition: INCOMPATIBLE }),
    );
    expect(byDefinition.Status).toBe('FAILURE');
    const latest = await glue.send(
      new GetSchemaVersionCommand({ SchemaId, SchemaVersionNumber: { LatestVersion: true } }),
    );
    expect(latest.SchemaVersionId).toBe(v2);
    const { Schemas = [] } = await glue.send(new ListSchemaVersionsCommand({ SchemaId }));
    expect(Schemas.map((s) => [s.VersionNumber, s.Status])).toEqual([
      [1, 'AVAILABLE'],
      [2, 'AVAILABLE'],
      [3, 'FAILURE'],
    ]);
  });

  it('fails with EntityNotFoundException for an unknown version id', async () => {
    // Act
    const request = glue.send(new GetSchemaVersionCommand({ SchemaVersionId: '00000000-0000-4000-8000-000000000000' }));

    // Assess
    await expect(request).rejects.toBeInstanceOf(EntityNotFoundException);
    await expect(request).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 } });
  });

  it('fails with InvalidInputException for invalid Avro', async () => {
    // Act
    const request = glue.send(
      new RegisterSchemaVersionCommand({ SchemaId, SchemaDefinition: '{"type":"nosuchtype"}' }),
    );

    // Assess
    await expect(request).rejects.toBeInstanceOf(InvalidInputException);
  });

  it('keeps every version id when the process is SIGKILLed and started again', async () => {
    // Act
    await killServer();
    await startServer();

    // Assess
    for (const [id, definition] of [
      [v1, V1],
      [v2, V2],
    ] as const) {
      const got = await glue.send(new GetSchemaVersionCommand({ SchemaVersionId: id }));
      expect(got.SchemaDefinition).toBe(definition);
    }
    const again = await glue.send(new RegisterSchemaVersionCommand({ SchemaId, SchemaDefinition: V2 }));
    expect(again.SchemaVersionId).toBe(v2);
  }, 30_000);
});
