/**
 * Schema sources for the codec: a Confluent-compatible registry through the two lookups of
 * `shared/registry-client.ts` (AWS and the local stack), and recorded snapshots of a Confluent-compatible and of a
 * Glue registry (unit tests, fixtures, benchmarks). The live Glue source is `shared/glue-schema-source.ts`.
 */
import { SchemaNotFoundError, type SchemaSource, topicReaderSchema } from './codec.js';
import { derivedId } from './ids.js';
import { registryClient } from './registry-client.js';
import type { CachedSecret } from './secrets.js';
import { TOPIC_SPECS, type TopicName, valueSubject } from './topology.js';

/** Credentials for a registry behind basic auth (from Secrets Manager in AWS). */
export interface RegistryAuth {
  readonly username: string;
  readonly password: string;
}

/** Credentials given as they are, or read from a secret on first use (`shared/secrets.ts`). */
export type RegistryCredentials = RegistryAuth | CachedSecret<RegistryAuth>;

/**
 * A schema source backed by a live registry. Schemas by id and ids by subject are cached by the codec.
 * Credentials from a secret are awaited before the first request; a 401 reads the secret again once (it was
 * rotated) and repeats the request. A 404 is `SchemaNotFoundError`; anything else is left to the codec, which makes
 * it transient.
 *
 * @example
 * const codec = new EventCodec(registrySchemaSource({ host: 'http://127.0.0.1:8081' }));
 */
export function registrySchemaSource(options: { host: string; auth?: RegistryCredentials }): SchemaSource {
  const { auth } = options;
  const secret: CachedSecret<RegistryAuth | undefined> =
    auth === undefined
      ? { get: async () => undefined, refresh: () => {} }
      : 'get' in auth
        ? auth
        : { get: async () => auth, refresh: () => {} };
  const client = registryClient({ host: options.host, retries: 2 });
  const call = async <T>(request: (auth: RegistryAuth | undefined) => Promise<T>): Promise<T> => {
    try {
      return await request(await secret.get());
    } catch (error) {
      if ((error as { status?: number }).status !== 401 || auth === undefined) throw error;
      secret.refresh();
      return request(await secret.get());
    }
  };
  return {
    async schemaById(id) {
      try {
        const found = await call((a) => client.schemaById(id, a));
        if (found.schemaType !== undefined && found.schemaType !== 'AVRO') {
          throw new Error(`schema id ${id} is ${found.schemaType}, not AVRO`);
        }
        return found.schema;
      } catch (error) {
        if ((error as { status?: number }).status === 404) {
          throw new SchemaNotFoundError(`schema id ${id} not found`, { cause: error });
        }
        throw error;
      }
    },
    async latestSchemaId(subject) {
      try {
        return (await call((a) => client.latestVersion(subject, a))).id;
      } catch (error) {
        if ((error as { status?: number }).status === 404) {
          throw new SchemaNotFoundError(`subject ${subject} has no schema: provision the registry first`, {
            cause: error,
          });
        }
        throw error;
      }
    },
  };
}

/** A registry's subjects and schemas frozen to a file: what `events/registry.json` holds. */
export interface RegistrySnapshot {
  /** Latest schema id per subject. */
  readonly subjects: Record<string, number>;
  /** Schema text per id (as a string key). */
  readonly schemas: Record<string, string>;
}

/**
 * A schema source that answers from a snapshot and never touches the network: unknown ids and subjects throw
 * `SchemaNotFoundError`, as a registry's 404 would.
 *
 * @example
 * const codec = new EventCodec(snapshotSchemaSource(JSON.parse(readFileSync('events/registry.json', 'utf8'))));
 */
export function snapshotSchemaSource(snapshot: RegistrySnapshot): SchemaSource {
  return {
    async schemaById(id) {
      const schema = snapshot.schemas[String(id)];
      if (schema === undefined) throw new SchemaNotFoundError(`schema id ${id} not found`);
      return schema;
    },
    async latestSchemaId(subject) {
      const id = snapshot.subjects[subject];
      if (id === undefined) throw new SchemaNotFoundError(`subject ${subject} has no schema`);
      return id;
    },
  };
}

/**
 * The snapshot a freshly provisioned registry would hold: each event topic's value schema from `schemas/`,
 * with ids 1, 2, 3... in topology order.
 */
export function currentRegistrySnapshot(): RegistrySnapshot {
  const subjects: Record<string, number> = {};
  const schemas: Record<string, string> = {};
  let id = 0;
  for (const topic of eventTopics()) {
    id += 1;
    subjects[valueSubject(topic)] = id;
    schemas[String(id)] = JSON.stringify(topicReaderSchema(topic));
  }
  return { subjects, schemas };
}

/** Topics whose values are Avro events (every topic but the dead-letter topic). */
export function eventTopics(): TopicName[] {
  return TOPIC_SPECS.filter((t) => t.events.length > 0).map((t) => t.name);
}

/** A Glue registry's schemas and versions frozen to a file: what `events/glue-registry.json` holds. */
export interface GlueRegistrySnapshot {
  /** The registry's name (`GLUE_REGISTRY_NAME`). */
  readonly registryName: string;
  /** Latest schema version id per schema name (`<topic>-value`). */
  readonly schemas: Record<string, string>;
  /** Schema text per schema version id. */
  readonly versions: Record<string, string>;
}

/**
 * A Glue schema source that answers from a snapshot and never touches the network: unknown version ids and schema
 * names throw `SchemaNotFoundError`, as Glue's `EntityNotFoundException` would.
 *
 * @example
 * const codec = new EventCodec({ glue: glueSnapshotSchemaSource(currentGlueRegistrySnapshot()), encodeWith: 'glue' });
 */
export function glueSnapshotSchemaSource(snapshot: GlueRegistrySnapshot): SchemaSource<string> {
  return {
    async schemaById(id) {
      const schema = snapshot.versions[id];
      if (schema === undefined) throw new SchemaNotFoundError(`Glue schema version ${id} not found`);
      return schema;
    },
    async latestSchemaId(subject) {
      const id = snapshot.schemas[subject];
      if (id === undefined) {
        throw new SchemaNotFoundError(`Glue schema ${subject} in registry ${snapshot.registryName} not found`);
      }
      return id;
    },
  };
}

/**
 * The snapshot a freshly provisioned Glue registry would hold: each event topic's value schema from `schemas/`,
 * its version id derived from the registry name, the schema name and the schema text (so it is the same on every
 * run, and changes when the schema does, as a new Glue version would).
 */
export function currentGlueRegistrySnapshot(registryName = 'orderflow'): GlueRegistrySnapshot {
  const schemas: Record<string, string> = {};
  const versions: Record<string, string> = {};
  for (const topic of eventTopics()) {
    const text = JSON.stringify(topicReaderSchema(topic));
    const id = derivedId('glue-schema-version', registryName, valueSubject(topic), text);
    schemas[valueSubject(topic)] = id;
    versions[id] = text;
  }
  return { registryName, schemas, versions };
}
