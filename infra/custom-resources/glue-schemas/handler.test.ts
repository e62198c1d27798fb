import {
  AlreadyExistsException,
  CreateSchemaCommand,
  EntityNotFoundException,
  GetSchemaCommand,
  GetSchemaVersionCommand,
  GlueClient,
  InvalidInputException,
  RegisterSchemaVersionCommand,
} from '@aws-sdk/client-glue';
import { beforeEach, describe, expect, it } from '@jest/globals';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { createHandler, parseProperties } from './handler.js';

const glue = mockClient(GlueClient);
const REGISTRY = 'orderflow-dev';
const SCHEMA = 'orders.raw-value';
const SCHEMA_ARN = `arn:aws:glue:eu-west-1:123456789012:schema/${REGISTRY}/${SCHEMA}`;
const DEFINITION = JSON.stringify({
  type: 'record',
  name: 'OrderPlaced',
  fields: [{ name: 'orderId', type: 'string' }],
});
const PROPS = {
  RegistryName: REGISTRY,
  SchemaName: SCHEMA,
  SchemaDefinition: DEFINITION,
  DataFormat: 'AVRO',
  Compatibility: 'BACKWARD',
};
const SCHEMA_ID = { RegistryName: REGISTRY, SchemaName: SCHEMA };
const metadata = { $metadata: { httpStatusCode: 400 } };
const notFound = () => new EntityNotFoundException({ message: 'Schema is not found.', ...metadata });
const context = { getRemainingTimeInMillis: () => 300_000 };

function event(
  requestType: 'Create' | 'Update' | 'Delete',
  props: Record<string, string> = PROPS,
): CloudFormationCustomResourceEvent {
  return {
    RequestType: requestType,
    ServiceToken: 'token',
    ResponseURL: 'https://example.com',
    StackId: 'stack',
    RequestId: 'request',
    LogicalResourceId: 'glueregistryordersrawvalue',
    ResourceType: 'Custom::GlueSchema',
    ResourceProperties: { ServiceToken: 'token', ...props },
    ...(requestType === 'Create'
      ? {}
      : { PhysicalResourceId: `${REGISTRY}/${SCHEMA}`, OldResourceProperties: { ServiceToken: 'token', ...props } }),
  } as CloudFormationCustomResourceEvent;
}

const onEvent = createHandler(glue as unknown as GlueClient, { pollIntervalMs: 1, sleep: async () => {} });

/** An existing AVRO/BACKWARD schema. */
function existingSchema() {
  glue.on(GetSchemaCommand, { SchemaId: SCHEMA_ID }).resolves({
    SchemaArn: SCHEMA_ARN,
    DataFormat: 'AVRO',
    Compatibility: 'BACKWARD',
    LatestSchemaVersion: 1,
  });
}

beforeEach(() => {
  glue.reset();
});

describe('glue-schemas handler', () => {
  it('creates a missing schema with the definition as version 1, AVRO and BACKWARD, and returns its version id', async () => {
    // Prepare
    glue.on(GetSchemaCommand).rejects(notFound());
    glue.on(CreateSchemaCommand).resolves({
      SchemaArn: SCHEMA_ARN,
      LatestSchemaVersion: 1,
      SchemaVersionId: '11111111-1111-1111-1111-111111111111',
      SchemaVersionStatus: 'AVAILABLE',
    });

    // Act
    const response = await onEvent(event('Create'), context);

    // Assess
    expect(response).toEqual({
      PhysicalResourceId: `${REGISTRY}/${SCHEMA}`,
      Data: { SchemaArn: SCHEMA_ARN, SchemaVersionId: '11111111-1111-1111-1111-111111111111', VersionNumber: '1' },
    });
    expect(glue.commandCalls(CreateSchemaCommand).map((c) => c.args[0].input)).toEqual([
      {
        RegistryId: { RegistryName: REGISTRY },
        SchemaName: SCHEMA,
        DataFormat: 'AVRO',
        Compatibility: 'BACKWARD',
        SchemaDefinition: DEFINITION,
      },
    ]);
    expect(glue.commandCalls(RegisterSchemaVersionCommand)).toHaveLength(0);
  });

  it('returns the existing version on a redeploy with an unchanged definition, creating nothing', async () => {
    // Prepare
    existingSchema();
    glue.on(RegisterSchemaVersionCommand).resolves({
      SchemaVersionId: '11111111-1111-1111-1111-111111111111',
      VersionNumber: 1,
      Status: 'AVAILABLE',
    });

    // Act
    const response = await onEvent(event('Update'), context);

    // Assess
    expect(response.Data).toEqual({
      SchemaArn: SCHEMA_ARN,
      SchemaVersionId: '11111111-1111-1111-1111-111111111111',
      VersionNumber: '1',
    });
    expect(glue.commandCalls(RegisterSchemaVersionCommand).map((c) => c.args[0].input)).toEqual([
      { SchemaId: SCHEMA_ID, SchemaDefinition: DEFINITION },
    ]);
    expect(glue.commandCalls(CreateSchemaCommand)).toHaveLength(0);
    expect(glue.commandCalls(GetSchemaVersionCommand)).toHaveLength(0);
  });

  it('registers a changed, compatible definition as a new version, polling while glue checks it', async () => {
    // Prepare
    existingSchema();
    const changed = JSON.stringify({
      type: 'record',
      name: 'OrderPlaced',
      fields: [
        { name: 'orderId', type: 'string' },
        { name: 'note', type: ['null', 'string'], default: null },
      ],
    });
    glue.on(RegisterSchemaVersionCommand).resolves({
      SchemaVersionId: '22222222-2222-2222-2222-222222222222',
      VersionNumber: 2,
      Status: 'PENDING',
    });
    glue
      .on(GetSchemaVersionCommand)
      .resolvesOnce({ Status: 'PENDING', VersionNumber: 2 })
      .resolves({ Status: 'AVAILABLE', VersionNumber: 2 });

    // Act
    const response = await onEvent(event('Update', { ...PROPS, SchemaDefinition: changed }), context);

    // Assess
    expect(response.Data).toEqual({
      SchemaArn: SCHEMA_ARN,
      SchemaVersionId: '22222222-2222-2222-2222-222222222222',
      VersionNumber: '2',
    });
    expect(glue.commandCalls(RegisterSchemaVersionCommand)[0]?.args[0].input.SchemaDefinition).toBe(changed);
    // Polled by schema and version number: no glue:GetSchemaVersion on "*" for the custom resource.
    expect(glue.commandCalls(GetSchemaVersionCommand).map((c) => c.args[0].input)).toEqual([
      { SchemaId: SCHEMA_ID, SchemaVersionNumber: { VersionNumber: 2 } },
      { SchemaId: SCHEMA_ID, SchemaVersionNumber: { VersionNumber: 2 } },
    ]);
  });

  it('fails the deploy when glue refuses an incompatible definition (a FAILURE version), naming schema and version', async () => {
    // Prepare
    existingSchema();
    glue.on(RegisterSchemaVersionCommand).resolves({
      SchemaVersionId: '33333333-3333-3333-3333-333333333333',
      VersionNumber: 3,
      Status: 'PENDING',
    });
    glue.on(GetSchemaVersionCommand).resolves({ Status: 'FAILURE', VersionNumber: 3 });

    // Act
    const deploy = onEvent(event('Update'), context);

    // Assess
    await expect(deploy).rejects.toThrow(
      `glue refused schema ${SCHEMA} version 3 (33333333-3333-3333-3333-333333333333) in registry ${REGISTRY}: status FAILURE. ` +
        "The definition is not BACKWARD compatible with the schema's latest version",
    );
  });

  it("fails with glue's own message when glue rejects the call itself", async () => {
    // Prepare
    existingSchema();
    glue
      .on(RegisterSchemaVersionCommand)
      .rejects(new InvalidInputException({ message: 'Schema definition of AVRO data format is invalid', ...metadata }));

    // Act
    const deploy = onEvent(event('Update'), context);

    // Assess
    await expect(deploy).rejects.toThrow(
      `glue RegisterSchemaVersion failed for schema ${SCHEMA} in registry ${REGISTRY}: InvalidInputException: Schema definition of AVRO data format is invalid`,
    );
  });

  it('registers the definition when another deploy created the schema first', async () => {
    // Prepare
    glue
      .on(GetSchemaCommand)
      .rejectsOnce(notFound())
      .resolves({ SchemaArn: SCHEMA_ARN, DataFormat: 'AVRO', Compatibility: 'BACKWARD' });
    glue
      .on(CreateSchemaCommand)
      .rejects(new AlreadyExistsException({ message: 'Schema already exists.', ...metadata }));
    glue.on(RegisterSchemaVersionCommand).resolves({ SchemaVersionId: 'v1', VersionNumber: 1, Status: 'AVAILABLE' });

    // Act
    const response = await onEvent(event('Create'), context);

    // Assess
    expect(response.Data?.SchemaVersionId).toBe('v1');
    expect(glue.commandCalls(RegisterSchemaVersionCommand)).toHaveLength(1);
  });

  it('fails when a version stays PENDING past the deadline, saying a redeploy retries', async () => {
    // Prepare
    existingSchema();
    glue.on(RegisterSchemaVersionCommand).resolves({ SchemaVersionId: 'v2', VersionNumber: 2, Status: 'PENDING' });
    glue.on(GetSchemaVersionCommand).resolves({ Status: 'PENDING' });

    // Act
    const deploy = onEvent(event('Update'), { getRemainingTimeInMillis: () => 20_010 });

    // Assess
    await expect(deploy).rejects.toThrow(`schema ${SCHEMA} version 2 (v2) is still PENDING in registry ${REGISTRY}`);
  });

  it('keeps every schema and version on delete, calling glue not at all', async () => {
    // Act
    const response = await onEvent(event('Delete'), context);

    // Assess
    expect(response).toEqual({ PhysicalResourceId: `${REGISTRY}/${SCHEMA}` });
    expect(glue.calls()).toHaveLength(0);
  });

  it('fails when a property is missing, showing the properties received', () => {
    expect(() => parseProperties({ RegistryName: REGISTRY })).toThrow(
      `glue-schemas: missing SchemaName, SchemaDefinition, DataFormat, Compatibility, got {"RegistryName":"${REGISTRY}"}`,
    );
  });
});
