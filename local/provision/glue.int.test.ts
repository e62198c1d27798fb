/**
 * Glue provisioning against the Glue emulator, started in this process on an ephemeral port (no local stack
 * needed; an integration test because it binds a socket), through `@aws-sdk/client-glue` and
 * `AWS_ENDPOINT_URL_GLUE` as `stack:up` runs it.
 */
import { CreateRegistryCommand, CreateSchemaCommand, GlueClient } from '@aws-sdk/client-glue';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { topicReaderSchema } from '../../shared/codec.js';
import { eventTopics } from '../../shared/schema-registry.js';
import { type TopicName, valueSubject } from '../../shared/topology.js';
import { type GlueServer, startGlueServer } from '../glue-registry/server.js';
import { GlueSchemaError, provisionGlueSchemas } from './glue.js';

let server: GlueServer;
let glue: GlueClient;

beforeEach(async () => {
  server = await startGlueServer({ port: 0 });
  process.env.AWS_ENDPOINT_URL_GLUE = server.url;
  glue = new GlueClient({ region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
});

afterEach(async () => {
  glue.destroy();
  await server.close();
});

describe('provisionGlueSchemas', () => {
  it('creates the registry and one BACKWARD schema per event topic, then changes nothing on a second run', async () => {
    // Act
    const first = await provisionGlueSchemas(glue);
    const second = await provisionGlueSchemas(glue);

    // Assess
    expect(first.map((c) => c.action)).toEqual(['created', ...eventTopics().map(() => 'created')]);
    expect(first.map((c) => c.resource)).toEqual([
      'glue registry orderflow',
      ...eventTopics().map((t) => `glue schema orderflow/${valueSubject(t)}`),
    ]);
    expect(second.every((c) => c.action === 'unchanged')).toBe(true);
    expect(server.registry.counts()).toEqual({
      registries: 1,
      schemas: eventTopics().length,
      versions: eventTopics().length,
    });
  });

  it('fails naming the schema and the reason when the definition breaks BACKWARD', async () => {
    // Prepare: an earlier version of the first topic's event without fields: today's default-less fields break it.
    const topic = eventTopics()[0] as TopicName;
    const current = topicReaderSchema(topic) as {
      name: string;
      namespace?: string;
    };
    await glue.send(new CreateRegistryCommand({ RegistryName: 'orderflow' }));
    await glue.send(
      new CreateSchemaCommand({
        RegistryId: { RegistryName: 'orderflow' },
        SchemaName: valueSubject(topic),
        DataFormat: 'AVRO',
        Compatibility: 'BACKWARD',
        SchemaDefinition: JSON.stringify({
          type: 'record',
          name: current.name,
          namespace: current.namespace,
          fields: [],
        }),
      }),
    );

    // Act
    const provisioning = provisionGlueSchemas(glue);

    // Assess
    await expect(provisioning).rejects.toBeInstanceOf(GlueSchemaError);
    await expect(provisioning).rejects.toThrow(
      new RegExp(
        `glue schema orderflow/${valueSubject(topic)}: Glue recorded version 2 .* as FAILURE under BACKWARD: cannot read data of version 1: .*default-less`,
      ),
    );
  });
});
