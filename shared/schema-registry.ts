/**
 * Schema sources for the codec: the Confluent-compatible registry through @kafkajs/confluent-schema-registry
 * (AWS and the local stack), and a recorded snapshot of a registry (unit tests, fixtures, benchmarks).
 */
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { SchemaNotFoundError, type SchemaSource, topicReaderSchema } from './codec.js';
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
 * A schema source backed by a live registry. The library caches schemas by id; ids by subject are cached
 * by the codec. Credentials from a secret are awaited before the first request; a 401 reads the secret again
 * once (it was rotated) and repeats the request.
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
  let client: { registry: SchemaRegistry; auth: RegistryAuth | undefined } | undefined;
  const registry = async (): Promise<SchemaRegistry> => {
    const current = await secret.get();
    if (!client || client.auth !== current) {
      client = {
        auth: current,
        registry: new SchemaRegistry({
          host: options.host,
          auth: current ? { ...current } : undefined,
          retry: { retries: 2 },
        }),
      };
    }
    return client.registry;
  };
  const call = async <T>(request: (r: SchemaRegistry) => Promise<T>): Promise<T> => {
    try {
      return await request(await registry());
    } catch (error) {
      if ((error as { status?: number }).status !== 401 || auth === undefined) throw error;
      secret.refresh();
      return request(await registry());
    }
  };
  return {
    async schemaById(id) {
      try {
        const type = await call((r) => r.getSchema(id));
        return JSON.stringify(type);
      } catch (error) {
        if ((error as { status?: number }).status === 404) {
          throw new SchemaNotFoundError(`schema id ${id} not found`, { cause: error });
        }
        throw error;
      }
    },
    async latestSchemaId(subject) {
      try {
        return await call((r) => r.getLatestSchemaId(subject));
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
