/**
 * A schema source over AWS Glue Schema Registry (`GLUE_REGISTRY_NAME`): the writer schema of a Glue-framed record by
 * its schema version id, and the latest usable version of a topic's schema (`<topic>-value`) for encoding. Both are
 * `GetSchemaVersion` (https://docs.aws.amazon.com/glue/latest/webapi/API_GetSchemaVersion.html); the codec caches
 * what it returns for the life of the process (schema versions are immutable).
 */
import {
  GetSchemaVersionCommand,
  type GetSchemaVersionCommandInput,
  type GetSchemaVersionCommandOutput,
  GlueClient,
} from '@aws-sdk/client-glue';
import { SchemaNotFoundError, type SchemaSource } from './codec.js';

/** How to reach a Glue registry. */
export interface GlueSchemaSourceOptions {
  /** The registry holding one schema per event topic, named `<topic>-value`. */
  readonly registryName: string;
  /**
   * The Glue client. Give it no endpoint: locally the SDK reads `AWS_ENDPOINT_URL_GLUE`.
   * @default - a GlueClient for `region`, with the SDK's standard retries (throttling and 5xx)
   */
  readonly client?: GlueClient;
  /** Region of the default client. @default - the SDK's (AWS_REGION) */
  readonly region?: string;
}

/** How many versions `latestSchemaId` steps back from the latest to find an AVAILABLE one. */
const MAX_STEPS_BACK = 10;

/**
 * A schema source backed by a Glue registry. An unknown version id or schema (`EntityNotFoundException`) is
 * `SchemaNotFoundError`, as is a version that failed its compatibility check or is being deleted; anything else
 * (throttling, 5xx, network, a version still PENDING) is left to the codec, which makes it transient. Encoding uses
 * the latest AVAILABLE version: when the latest is PENDING or FAILURE (an incompatible registration), the versions
 * before it are tried.
 *
 * @example
 * const codec = new EventCodec({ glue: glueSchemaSource({ registryName: 'orderflow' }), encodeWith: 'glue' });
 */
export function glueSchemaSource(options: GlueSchemaSourceOptions): SchemaSource<string> {
  const { registryName } = options;
  const client = options.client ?? new GlueClient(options.region ? { region: options.region } : {});
  const get = async (
    input: GetSchemaVersionCommandInput,
    what: string,
    hint = '',
  ): Promise<GetSchemaVersionCommandOutput> => {
    try {
      return await client.send(new GetSchemaVersionCommand(input));
    } catch (error) {
      if ((error as { name?: string }).name === 'EntityNotFoundException') {
        throw new SchemaNotFoundError(`${what} not found${hint}`, { cause: error });
      }
      throw error;
    }
  };
  return {
    async schemaById(id) {
      const what = `Glue schema version ${id}`;
      const found = await get({ SchemaVersionId: id }, what);
      if (found.Status !== 'AVAILABLE') {
        const message = `${what} is ${found.Status}, not AVAILABLE`;
        // PENDING may still become AVAILABLE (its compatibility check runs): retried. FAILURE and DELETING won't.
        if (found.Status === 'PENDING') throw new Error(message);
        throw new SchemaNotFoundError(message);
      }
      return definitionOf(found, what);
    },
    async latestSchemaId(subject) {
      const SchemaId = { RegistryName: registryName, SchemaName: subject };
      const what = `Glue schema ${subject} in registry ${registryName}`;
      let found = await get(
        { SchemaId, SchemaVersionNumber: { LatestVersion: true } },
        what,
        ': provision the registry first',
      );
      const skipped: string[] = [];
      while (found.Status !== 'AVAILABLE') {
        skipped.push(`${found.VersionNumber} ${found.Status}`);
        const previous = (found.VersionNumber ?? 1) - 1;
        if (previous < 1 || skipped.length > MAX_STEPS_BACK) {
          throw new SchemaNotFoundError(`${what} has no AVAILABLE version near the latest (${skipped.join(', ')})`);
        }
        found = await get(
          { SchemaId, SchemaVersionNumber: { VersionNumber: previous } },
          `${what} version ${previous}`,
        );
      }
      definitionOf(found, what);
      if (!found.SchemaVersionId) throw new Error(`${what}: GetSchemaVersion returned no SchemaVersionId`);
      return found.SchemaVersionId;
    },
  };
}

/** The Avro definition of a found version; another data format is an error the codec makes transient. */
function definitionOf(found: GetSchemaVersionCommandOutput, what: string): string {
  if (found.DataFormat !== undefined && found.DataFormat !== 'AVRO') {
    throw new Error(`${what} is ${found.DataFormat}, not AVRO`);
  }
  if (found.SchemaDefinition === undefined) throw new Error(`${what}: GetSchemaVersion returned no SchemaDefinition`);
  return found.SchemaDefinition;
}
