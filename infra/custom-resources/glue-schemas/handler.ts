/**
 * onEvent handler of the `glue-schemas` custom resources (CDK Provider framework), one resource per event topic's
 * value schema. On Create and Update it makes the schema's current definition a version of the schema in the
 * AWS Glue registry: it creates the schema when missing (AVRO, the given compatibility), else calls
 * RegisterSchemaVersion, which returns the existing version when the definition is already one
 * (https://docs.aws.amazon.com/glue/latest/webapi/API_RegisterSchemaVersion.html). A version Glue is still checking
 * (PENDING) is polled until AVAILABLE; one Glue refused (FAILURE: not compatible with the latest version) fails the
 * deploy. On Delete it does nothing: Kafka records carry their version's id, so a version must outlive the stack
 * (the registry itself is retained).
 *
 * Why not AWS::Glue::Schema / AWS::Glue::SchemaVersion: a Schema's definition is create-only (a change is a
 * replacement, not a new version), and a SchemaVersion is create-only too and deletes the old version when it is
 * replaced, which makes the records written with it undecodable (docs/deploying.md, "Schema registry modes").
 */
import {
  AlreadyExistsException,
  CreateSchemaCommand,
  EntityNotFoundException,
  GetSchemaCommand,
  GetSchemaVersionCommand,
  GlueClient,
  RegisterSchemaVersionCommand,
} from '@aws-sdk/client-glue';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { logger } from '../../../shared/observability.js';

/** Resource properties, as strings: CloudFormation passes every scalar as a string. */
export interface GlueSchemaProperties {
  /** Glue registry holding the schema. */
  readonly RegistryName: string;
  /** `<topic>-value`. */
  readonly SchemaName: string;
  /** The Avro schema, as JSON text. */
  readonly SchemaDefinition: string;
  /** `AVRO`. */
  readonly DataFormat: string;
  /** Compatibility of a schema this handler creates (`BACKWARD`); an existing schema keeps its own. */
  readonly Compatibility: string;
}

/** What the Provider framework expects back; `Data` are the resource's attributes. */
export interface GlueSchemaResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: {
    readonly SchemaArn: string;
    readonly SchemaVersionId: string;
    readonly VersionNumber: string;
  };
}

/** The one call the handler makes on the client, so tests can pass a mocked `GlueClient`. */
export type GlueSender = Pick<GlueClient, 'send'>;

/** Options of `createHandler`. */
export interface GlueSchemasHandlerOptions {
  /**
   * Wait between two polls of a PENDING version.
   *
   * @default 2000
   */
  readonly pollIntervalMs?: number;
  /**
   * How the handler waits (tests pass one that returns at once).
   *
   * @default - setTimeout
   */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Time kept back from the invocation's deadline to report failure before Lambda kills the handler. */
const SAFETY_MARGIN_MS = 20_000;

/** The properties, failing with the values received when one is missing. */
export function parseProperties(raw: Record<string, unknown>): GlueSchemaProperties {
  const keys = ['RegistryName', 'SchemaName', 'SchemaDefinition', 'DataFormat', 'Compatibility'] as const;
  const missing = keys.filter((k) => typeof raw[k] !== 'string' || raw[k] === '');
  if (missing.length > 0) {
    throw new Error(`glue-schemas: missing ${missing.join(', ')}, got ${JSON.stringify(raw)}`);
  }
  return raw as unknown as GlueSchemaProperties;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Builds the handler over a Glue client; tests pass a mocked one. */
export function createHandler(glue: GlueSender, options: GlueSchemasHandlerOptions = {}) {
  const pollIntervalMs = options.pollIntervalMs ?? 2000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  /** Calls Glue; a service error fails the deploy with Glue's own message and the schema it was about. */
  async function call<T>(what: string, props: GlueSchemaProperties, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      if (error instanceof AlreadyExistsException || error instanceof EntityNotFoundException) throw error;
      throw new Error(
        `glue ${what} failed for schema ${props.SchemaName} in registry ${props.RegistryName}: ${describe(error)}`,
        { cause: error },
      );
    }
  }

  /** Creates the schema with the definition as its first version; undefined when it already exists. */
  async function createSchema(props: GlueSchemaProperties) {
    try {
      const created = await call('CreateSchema', props, () =>
        glue.send(
          new CreateSchemaCommand({
            RegistryId: { RegistryName: props.RegistryName },
            SchemaName: props.SchemaName,
            DataFormat: props.DataFormat as 'AVRO',
            Compatibility: props.Compatibility as 'BACKWARD',
            SchemaDefinition: props.SchemaDefinition,
          }),
        ),
      );
      logger.info('schema created', { schema: props.SchemaName, registry: props.RegistryName });
      return {
        schemaArn: created.SchemaArn ?? '',
        versionId: created.SchemaVersionId ?? '',
        versionNumber: created.LatestSchemaVersion ?? 1,
        status: created.SchemaVersionStatus ?? 'AVAILABLE',
      };
    } catch (error) {
      // Another deploy created it first: register the definition like on any redeploy.
      if (error instanceof AlreadyExistsException) return undefined;
      throw error;
    }
  }

  async function registerVersion(props: GlueSchemaProperties) {
    const schemaId = { RegistryName: props.RegistryName, SchemaName: props.SchemaName };
    const schema = await call('GetSchema', props, () => glue.send(new GetSchemaCommand({ SchemaId: schemaId })));
    if (schema.DataFormat !== props.DataFormat) {
      throw new Error(
        `schema ${props.SchemaName} in registry ${props.RegistryName} is ${schema.DataFormat}, not ${props.DataFormat}`,
      );
    }
    if (schema.Compatibility !== props.Compatibility) {
      logger.warn('schema keeps its own compatibility', {
        schema: props.SchemaName,
        compatibility: schema.Compatibility,
        expected: props.Compatibility,
      });
    }
    const registered = await call('RegisterSchemaVersion', props, () =>
      glue.send(new RegisterSchemaVersionCommand({ SchemaId: schemaId, SchemaDefinition: props.SchemaDefinition })),
    );
    return {
      schemaArn: schema.SchemaArn ?? '',
      versionId: registered.SchemaVersionId ?? '',
      versionNumber: registered.VersionNumber ?? 0,
      status: registered.Status ?? 'PENDING',
    };
  }

  /**
   * Polls a PENDING version by schema and version number (not by version id, which would need
   * glue:GetSchemaVersion on every resource) until Glue has checked it.
   */
  async function settle(
    props: GlueSchemaProperties,
    version: { versionId: string; versionNumber: number; status: string },
    deadline: number,
  ): Promise<string> {
    let status = version.status;
    while (status === 'PENDING') {
      if (Date.now() + pollIntervalMs > deadline) {
        throw new Error(
          `schema ${props.SchemaName} version ${version.versionNumber} (${version.versionId}) is still PENDING in registry ${props.RegistryName}: glue has not finished its compatibility check; deploy again to retry`,
        );
      }
      await sleep(pollIntervalMs);
      const polled = await call('GetSchemaVersion', props, () =>
        glue.send(
          new GetSchemaVersionCommand({
            SchemaId: { RegistryName: props.RegistryName, SchemaName: props.SchemaName },
            SchemaVersionNumber: { VersionNumber: version.versionNumber },
          }),
        ),
      );
      status = polled.Status ?? 'PENDING';
    }
    return status;
  }

  return async function onEvent(
    event: CloudFormationCustomResourceEvent,
    context: Pick<Context, 'getRemainingTimeInMillis'>,
  ): Promise<GlueSchemaResponse> {
    if (event.RequestType === 'Delete') {
      logger.info('schema versions are kept on delete', { physicalResourceId: event.PhysicalResourceId });
      return { PhysicalResourceId: event.PhysicalResourceId };
    }
    const props = parseProperties(event.ResourceProperties);
    // A renamed schema or registry is a new resource; CloudFormation then deletes the old one, which keeps it.
    const physicalResourceId = `${props.RegistryName}/${props.SchemaName}`;
    const deadline = Date.now() + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS;

    let version: Awaited<ReturnType<typeof registerVersion>> | undefined;
    try {
      version = await registerVersion(props);
    } catch (error) {
      if (!(error instanceof EntityNotFoundException)) throw error;
    }
    version ??= (await createSchema(props)) ?? (await registerVersion(props));

    const status = await settle(props, version, deadline);
    if (status !== 'AVAILABLE') {
      // Glue reports an incompatible definition as a version with status FAILURE (the call itself succeeds); the
      // failed version keeps its number and is never used.
      throw new Error(
        `glue refused schema ${props.SchemaName} version ${version.versionNumber} (${version.versionId}) in registry ${props.RegistryName}: status ${status}. ` +
          `${status === 'FAILURE' ? `The definition is not ${props.Compatibility} compatible with the schema's latest version; make a compatible change (docs/operations.md, schema changes).` : ''}`.trim(),
      );
    }
    logger.info('schema version available', {
      schema: props.SchemaName,
      versionNumber: version.versionNumber,
      versionId: version.versionId,
    });
    return {
      PhysicalResourceId: physicalResourceId,
      Data: {
        SchemaArn: version.schemaArn,
        SchemaVersionId: version.versionId,
        VersionNumber: String(version.versionNumber),
      },
    };
  };
}

/** Lambda entry: the SDK's default Glue endpoint for the function's region. */
export const handler = createHandler(new GlueClient({}));
