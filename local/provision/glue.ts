/**
 * Each event topic's value schema in the AWS Glue Schema Registry (locally the emulator at
 * `AWS_ENDPOINT_URL_GLUE`): registry `orderflow`, schema `<topic>-value`, AVRO, BACKWARD. Provisioned on every
 * `stack:up` whatever the mode, so switching to `ORDERFLOW_SCHEMA_REGISTRY=glue` finds them; a second run registers
 * nothing and every version id stays the same.
 *
 * Glue answers an incompatible definition with a FAILURE version and no reason
 * (https://docs.aws.amazon.com/glue/latest/webapi/API_RegisterSchemaVersion.html), so the reason in the error is
 * avsc's, against the latest AVAILABLE version, as `shared/schema-compat.ts` checks in the tests.
 */
import {
  CreateRegistryCommand,
  CreateSchemaCommand,
  EntityNotFoundException,
  GetRegistryCommand,
  GetSchemaByDefinitionCommand,
  GetSchemaCommand,
  GetSchemaVersionCommand,
  type GlueClient,
  RegisterSchemaVersionCommand,
} from '@aws-sdk/client-glue';
import type avro from 'avsc';
import { topicReaderSchema } from '../../shared/codec.js';
import { backwardIncompatibility } from '../../shared/schema-compat.js';
import { eventTopics } from '../../shared/schema-registry.js';
import { valueSubject } from '../../shared/topology.js';
import { LOCAL_GLUE_REGISTRY_NAME } from '../stack/config.js';
import type { ProvisionChange } from './change.js';

/** Glue refused a schema: it names the schema, the version Glue recorded and why. */
export class GlueSchemaError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'GlueSchemaError';
  }
}

/** How long a PENDING version (real Glue checks compatibility asynchronously) is polled before giving up. */
const PENDING_TIMEOUT_MS = 30_000;

/**
 * Creates the registry and one schema per event topic, or registers the current definition as a new version.
 *
 * @example
 * await provisionGlueSchemas(new GlueClient({})); // [{ resource: 'glue schema orderflow/orders.raw-value', action: 'created', ... }]
 */
export async function provisionGlueSchemas(
  glue: GlueClient,
  registryName = LOCAL_GLUE_REGISTRY_NAME,
): Promise<ProvisionChange[]> {
  const changes: ProvisionChange[] = [await ensureRegistry(glue, registryName)];
  for (const topic of eventTopics()) {
    changes.push(await ensureSchema(glue, registryName, valueSubject(topic), topicReaderSchema(topic) as avro.Schema));
  }
  return changes;
}

async function ensureRegistry(glue: GlueClient, RegistryName: string): Promise<ProvisionChange> {
  const resource = `glue registry ${RegistryName}`;
  if (await exists(glue.send(new GetRegistryCommand({ RegistryId: { RegistryName } })))) {
    return { resource, action: 'unchanged' };
  }
  await glue.send(new CreateRegistryCommand({ RegistryName }));
  return { resource, action: 'created' };
}

async function ensureSchema(
  glue: GlueClient,
  RegistryName: string,
  SchemaName: string,
  schema: avro.Schema,
): Promise<ProvisionChange> {
  const resource = `glue schema ${RegistryName}/${SchemaName}`;
  const SchemaId = { RegistryName, SchemaName };
  const SchemaDefinition = JSON.stringify(schema);
  const current = await glue.send(new GetSchemaCommand({ SchemaId })).catch(notFound);
  if (!current) {
    const created = await glue.send(
      new CreateSchemaCommand({
        RegistryId: { RegistryName },
        SchemaName,
        DataFormat: 'AVRO',
        Compatibility: 'BACKWARD',
        SchemaDefinition,
      }),
    );
    return { resource, action: 'created', detail: `version 1 ${created.SchemaVersionId}` };
  }
  if (current.Compatibility !== 'BACKWARD') {
    throw new GlueSchemaError(
      `${resource} has compatibility ${current.Compatibility}, expected BACKWARD; wipe the stack (npm run stack:down -- --wipe) to recreate it`,
    );
  }
  const known = await glue.send(new GetSchemaByDefinitionCommand({ SchemaId, SchemaDefinition })).catch(notFound);
  if (known?.Status === 'AVAILABLE') return { resource, action: 'unchanged' };
  // New, or a FAILURE/DELETING match: register (Glue returns the existing version for a known definition).
  const registered = await glue.send(new RegisterSchemaVersionCommand({ SchemaId, SchemaDefinition }));
  const status = await settledStatus(glue, registered.SchemaVersionId as string, registered.Status);
  if (status !== 'AVAILABLE') {
    const reason = await incompatibilityReason(glue, SchemaId, schema);
    throw new GlueSchemaError(
      `${resource}: Glue recorded version ${registered.VersionNumber} (${registered.SchemaVersionId}) as ${status} ` +
        `under BACKWARD${reason ? `: ${reason}` : ''}`,
    );
  }
  return {
    resource,
    action: 'updated',
    detail: `version ${registered.VersionNumber} ${registered.SchemaVersionId}`,
  };
}

/** The version's status once Glue's compatibility check is done (PENDING polled, as AWS's own client does). */
async function settledStatus(glue: GlueClient, SchemaVersionId: string, status: string | undefined): Promise<string> {
  const deadline = Date.now() + PENDING_TIMEOUT_MS;
  let current = status ?? 'PENDING';
  while (current === 'PENDING' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    current = (await glue.send(new GetSchemaVersionCommand({ SchemaVersionId }))).Status ?? 'PENDING';
  }
  return current;
}

/** avsc's reason why `schema` cannot read data of the latest AVAILABLE version. */
async function incompatibilityReason(
  glue: GlueClient,
  SchemaId: { RegistryName: string; SchemaName: string },
  schema: avro.Schema,
): Promise<string | undefined> {
  const latest = await glue
    .send(new GetSchemaVersionCommand({ SchemaId, SchemaVersionNumber: { LatestVersion: true } }))
    .catch(notFound);
  if (!latest?.SchemaDefinition) return undefined;
  const reason = backwardIncompatibility(schema, JSON.parse(latest.SchemaDefinition) as avro.Schema);
  return reason && `cannot read data of version ${latest.VersionNumber}: ${reason}`;
}

async function exists(request: Promise<unknown>): Promise<boolean> {
  return (await request.catch(notFound)) !== undefined;
}

function notFound(error: unknown): undefined {
  if (error instanceof EntityNotFoundException) return undefined;
  throw error;
}
