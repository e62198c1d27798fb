/**
 * The local AWS Glue Schema Registry: the subset of Glue's JSON 1.1 API that orderflow calls (registries, AVRO
 * schemas, versions), with Glue's semantics where moto has none: BACKWARD (and the other modes) checked with avsc,
 * an incompatible definition registered as a FAILURE version that still takes its number, invalid Avro refused
 * with InvalidInputException, random UUID version ids that survive a restart (`store.ts`).
 *
 * Shapes and field names follow the API reference,
 * https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-schema-registry-api.html; why an emulator of our own and
 * not moto or MiniStack: docs/local-development.md ("The Glue Schema Registry emulator").
 */
import { randomUUID } from 'node:crypto';
import avro from 'avsc';

/** Glue's `SchemaVersionStatus`; this emulator decides synchronously, so never PENDING. */
export type SchemaVersionStatus = 'AVAILABLE' | 'PENDING' | 'FAILURE' | 'DELETING';

/** Glue's `Compatibility` values. */
export type Compatibility =
  | 'NONE'
  | 'DISABLED'
  | 'BACKWARD'
  | 'BACKWARD_ALL'
  | 'FORWARD'
  | 'FORWARD_ALL'
  | 'FULL'
  | 'FULL_ALL';

const COMPATIBILITIES: readonly Compatibility[] = [
  'NONE',
  'DISABLED',
  'BACKWARD',
  'BACKWARD_ALL',
  'FORWARD',
  'FORWARD_ALL',
  'FULL',
  'FULL_ALL',
];

/** One stored schema version. */
export interface StoredVersion {
  readonly SchemaVersionId: string;
  readonly VersionNumber: number;
  readonly SchemaDefinition: string;
  readonly Status: SchemaVersionStatus;
  readonly CreatedTime: string;
  /** Why the compatibility check failed (FAILURE only). Glue's API does not return it; the emulator logs it. */
  readonly failureReason?: string;
}

/** One stored schema with its versions, oldest first. */
export interface StoredSchema {
  readonly SchemaName: string;
  readonly Description?: string;
  readonly DataFormat: 'AVRO';
  Compatibility: Compatibility;
  readonly CreatedTime: string;
  UpdatedTime: string;
  readonly versions: StoredVersion[];
}

/** One stored registry. */
export interface StoredRegistry {
  readonly RegistryName: string;
  readonly Description?: string;
  readonly CreatedTime: string;
  readonly UpdatedTime: string;
  readonly schemas: Record<string, StoredSchema>;
}

/** The emulator's whole state: what `store.ts` writes to its JSON file. */
export interface RegistryState {
  readonly formatVersion: 1;
  readonly registries: Record<string, StoredRegistry>;
}

/** An error Glue answers with: HTTP 400 and `{"__type": type, "Message": message}`. */
export class GlueApiError extends Error {
  constructor(
    readonly type:
      | 'EntityNotFoundException'
      | 'AlreadyExistsException'
      | 'InvalidInputException'
      | 'ResourceNumberLimitExceededException'
      | 'UnknownOperationException'
      | 'SerializationException',
    message: string,
  ) {
    super(message);
    this.name = 'GlueApiError';
  }
}

/**
 * Glue's service quotas that keep the emulator's memory bounded
 * (https://docs.aws.amazon.com/general/latest/gr/glue.html: 100 registries, 10,000 schemas and 1,000 versions
 * per schema per account; a definition is at most 170,000 characters).
 */
export const QUOTAS = { registries: 100, schemas: 10_000, versionsPerSchema: 1_000, definitionLength: 170_000 };

/** The registry CreateSchema and GetSchemaByDefinition use when a request names none (as Glue does). */
export const DEFAULT_REGISTRY = 'default-registry';

const NAME = /^[a-zA-Z0-9-_$#.]{1,255}$/;
const UUID = /^[a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12}$/;

/** Options of `GlueRegistry`. */
export interface GlueRegistryOptions {
  /** Region in the ARNs. @default us-east-1 */
  readonly region?: string;
  /** Account id in the ARNs. @default 000000000000 */
  readonly accountId?: string;
  /** Called with the whole state after every change (persistence). @default - kept in memory only */
  readonly onChange?: (state: RegistryState) => void;
  /** Diagnostics (a FAILURE version's reason). @default - silent */
  readonly log?: (message: string) => void;
  /** Clock. @default - the system clock */
  readonly now?: () => Date;
}

type Json = Record<string, unknown>;
type Located = { registry: StoredRegistry; schema: StoredSchema; version: StoredVersion };

/**
 * Glue's schema-registry actions over a `RegistryState`. `handle(action, input)` returns the response body or
 * throws `GlueApiError`; the HTTP side is `http.ts`.
 *
 * @example
 * const glue = new GlueRegistry(emptyState());
 * glue.handle('CreateRegistry', { RegistryName: 'orderflow' });
 */
export class GlueRegistry {
  private readonly byVersionId = new Map<string, Located>();
  private readonly region: string;
  private readonly accountId: string;
  private readonly now: () => Date;

  constructor(
    private readonly state: RegistryState,
    private readonly options: GlueRegistryOptions = {},
  ) {
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '000000000000';
    this.now = options.now ?? (() => new Date());
    for (const registry of Object.values(state.registries)) {
      for (const schema of Object.values(registry.schemas)) {
        for (const version of schema.versions)
          this.byVersionId.set(version.SchemaVersionId, { registry, schema, version });
      }
    }
  }

  /** The number of schemas and versions held (for `stack:status`). */
  counts(): { registries: number; schemas: number; versions: number } {
    const registries = Object.values(this.state.registries);
    const schemas = registries.reduce((n, r) => n + Object.keys(r.schemas).length, 0);
    return { registries: registries.length, schemas, versions: this.byVersionId.size };
  }

  /** Runs one Glue action (`X-Amz-Target: AWSGlue.<action>`) on its JSON input. */
  handle(action: string, input: Json): Json {
    switch (action) {
      case 'CreateRegistry':
        return this.createRegistry(input);
      case 'GetRegistry':
        return this.getRegistry(input);
      case 'CreateSchema':
        return this.createSchema(input);
      case 'GetSchema':
        return this.getSchema(input);
      case 'ListSchemas':
        return this.listSchemas(input);
      case 'RegisterSchemaVersion':
        return this.registerSchemaVersion(input);
      case 'GetSchemaVersion':
        return this.getSchemaVersion(input);
      case 'GetSchemaByDefinition':
        return this.getSchemaByDefinition(input);
      case 'ListSchemaVersions':
        return this.listSchemaVersions(input);
      default:
        throw new GlueApiError(
          'UnknownOperationException',
          `the local Glue emulator does not implement ${action} (only the schema-registry actions orderflow uses)`,
        );
    }
  }

  private createRegistry(input: Json): Json {
    const name = requireName(input.RegistryName, 'RegistryName');
    if (this.state.registries[name])
      throw new GlueApiError('AlreadyExistsException', `Registry already exists: ${name}`);
    if (Object.keys(this.state.registries).length >= QUOTAS.registries) {
      throw new GlueApiError('ResourceNumberLimitExceededException', `more than ${QUOTAS.registries} registries`);
    }
    const description = optionalString(input.Description, 'Description');
    const registry = this.addRegistry(name, description);
    this.changed();
    return omitUndefined({
      RegistryArn: this.registryArn(name),
      RegistryName: name,
      Description: registry.Description,
      Tags: isObject(input.Tags) ? input.Tags : undefined,
    });
  }

  private getRegistry(input: Json): Json {
    const registry = this.findRegistry(input.RegistryId, false);
    return omitUndefined({
      RegistryName: registry.RegistryName,
      RegistryArn: this.registryArn(registry.RegistryName),
      Description: registry.Description,
      Status: 'AVAILABLE',
      CreatedTime: registry.CreatedTime,
      UpdatedTime: registry.UpdatedTime,
    });
  }

  private createSchema(input: Json): Json {
    const registry = this.findRegistry(input.RegistryId, true);
    const name = requireName(input.SchemaName, 'SchemaName');
    if (input.DataFormat !== 'AVRO') {
      throw new GlueApiError(
        'InvalidInputException',
        `DataFormat must be AVRO in the local Glue emulator, got '${String(input.DataFormat)}'`,
      );
    }
    const compatibility = input.Compatibility ?? 'BACKWARD';
    if (!COMPATIBILITIES.includes(compatibility as Compatibility)) {
      throw new GlueApiError('InvalidInputException', `Compatibility must be one of ${COMPATIBILITIES.join(', ')}`);
    }
    if (registry.schemas[name]) {
      throw new GlueApiError('AlreadyExistsException', `Schema already exists: ${registry.RegistryName}/${name}`);
    }
    if (this.counts().schemas >= QUOTAS.schemas) {
      throw new GlueApiError('ResourceNumberLimitExceededException', `more than ${QUOTAS.schemas} schemas`);
    }
    const definition = input.SchemaDefinition === undefined ? undefined : requireDefinition(input.SchemaDefinition);
    const time = this.now().toISOString();
    const schema: StoredSchema = {
      SchemaName: name,
      Description: optionalString(input.Description, 'Description'),
      DataFormat: 'AVRO',
      Compatibility: compatibility as Compatibility,
      CreatedTime: time,
      UpdatedTime: time,
      versions: [],
    };
    registry.schemas[name] = schema;
    const version = definition === undefined ? undefined : this.addVersion(registry, schema, definition, 'AVAILABLE');
    this.changed();
    return omitUndefined({
      ...this.schemaFields(registry, schema),
      Tags: isObject(input.Tags) ? input.Tags : undefined,
      SchemaVersionId: version?.SchemaVersionId,
      SchemaVersionStatus: version?.Status,
    });
  }

  private getSchema(input: Json): Json {
    const { registry, schema } = this.findSchema(input.SchemaId);
    return { ...this.schemaFields(registry, schema), CreatedTime: schema.CreatedTime, UpdatedTime: schema.UpdatedTime };
  }

  private listSchemas(input: Json): Json {
    const registries =
      input.RegistryId === undefined
        ? Object.values(this.state.registries)
        : [this.findRegistry(input.RegistryId, false)];
    const items = registries.flatMap((registry) =>
      Object.values(registry.schemas).map((schema) =>
        omitUndefined({
          RegistryName: registry.RegistryName,
          SchemaName: schema.SchemaName,
          SchemaArn: this.schemaArn(registry.RegistryName, schema.SchemaName),
          Description: schema.Description,
          SchemaStatus: 'AVAILABLE',
          CreatedTime: schema.CreatedTime,
          UpdatedTime: schema.UpdatedTime,
        }),
      ),
    );
    const { page, next } = paginate(items, input);
    return omitUndefined({ Schemas: page, NextToken: next });
  }

  private registerSchemaVersion(input: Json): Json {
    const { registry, schema } = this.findSchema(input.SchemaId);
    const definition = requireDefinition(input.SchemaDefinition);
    const existing = findByDefinition(schema, definition);
    if (existing) {
      return {
        SchemaVersionId: existing.SchemaVersionId,
        VersionNumber: existing.VersionNumber,
        Status: existing.Status,
      };
    }
    if (schema.Compatibility === 'DISABLED') {
      throw new GlueApiError(
        'InvalidInputException',
        `Compatibility DISABLED does not allow new versions of ${registry.RegistryName}/${schema.SchemaName}`,
      );
    }
    if (schema.versions.length >= QUOTAS.versionsPerSchema) {
      throw new GlueApiError(
        'ResourceNumberLimitExceededException',
        `more than ${QUOTAS.versionsPerSchema} versions of ${schema.SchemaName}`,
      );
    }
    const reason = incompatibility(schema, definition);
    const version = this.addVersion(registry, schema, definition, reason ? 'FAILURE' : 'AVAILABLE', reason);
    if (reason) {
      this.options.log?.(
        `${registry.RegistryName}/${schema.SchemaName} v${version.VersionNumber} FAILURE (${schema.Compatibility}): ${reason}`,
      );
    }
    this.changed();
    return { SchemaVersionId: version.SchemaVersionId, VersionNumber: version.VersionNumber, Status: version.Status };
  }

  private getSchemaVersion(input: Json): Json {
    const hasId = input.SchemaVersionId !== undefined;
    const hasSchema = input.SchemaId !== undefined;
    if (hasId === hasSchema) {
      throw new GlueApiError('InvalidInputException', 'Either SchemaVersionId or SchemaId must be provided, not both');
    }
    let located: Located;
    if (hasId) {
      const id = input.SchemaVersionId;
      if (typeof id !== 'string' || !UUID.test(id)) {
        throw new GlueApiError('InvalidInputException', `SchemaVersionId is not a schema version id: ${String(id)}`);
      }
      const found = this.byVersionId.get(id);
      if (!found) throw new GlueApiError('EntityNotFoundException', `Schema version is not found: ${id}`);
      located = found;
    } else {
      const { registry, schema } = this.findSchema(input.SchemaId);
      const number = isObject(input.SchemaVersionNumber) ? input.SchemaVersionNumber : undefined;
      const latest = number?.LatestVersion === true;
      const wanted = number?.VersionNumber;
      if (latest === (wanted !== undefined)) {
        throw new GlueApiError(
          'InvalidInputException',
          'SchemaVersionNumber needs either LatestVersion true or a VersionNumber, not both',
        );
      }
      const version = latest
        ? schema.versions.findLast((v) => v.Status === 'AVAILABLE')
        : schema.versions.find((v) => v.VersionNumber === wanted);
      if (!version) {
        throw new GlueApiError(
          'EntityNotFoundException',
          `Schema version is not found: ${registry.RegistryName}/${schema.SchemaName} ${latest ? 'latest' : `v${String(wanted)}`}`,
        );
      }
      located = { registry, schema, version };
    }
    const { registry, schema, version } = located;
    return {
      SchemaVersionId: version.SchemaVersionId,
      SchemaDefinition: version.SchemaDefinition,
      DataFormat: schema.DataFormat,
      SchemaArn: this.schemaArn(registry.RegistryName, schema.SchemaName),
      VersionNumber: version.VersionNumber,
      Status: version.Status,
      CreatedTime: version.CreatedTime,
    };
  }

  private getSchemaByDefinition(input: Json): Json {
    const { registry, schema } = this.findSchema(input.SchemaId);
    const definition = requireDefinition(input.SchemaDefinition);
    const version = findByDefinition(schema, definition);
    if (!version) {
      throw new GlueApiError(
        'EntityNotFoundException',
        `Schema is not found for this definition in ${registry.RegistryName}/${schema.SchemaName}`,
      );
    }
    return {
      SchemaVersionId: version.SchemaVersionId,
      SchemaArn: this.schemaArn(registry.RegistryName, schema.SchemaName),
      DataFormat: schema.DataFormat,
      Status: version.Status,
      CreatedTime: version.CreatedTime,
    };
  }

  private listSchemaVersions(input: Json): Json {
    const { registry, schema } = this.findSchema(input.SchemaId);
    const arn = this.schemaArn(registry.RegistryName, schema.SchemaName);
    const items = schema.versions.map((v) => ({
      SchemaArn: arn,
      SchemaVersionId: v.SchemaVersionId,
      VersionNumber: v.VersionNumber,
      Status: v.Status,
      CreatedTime: v.CreatedTime,
    }));
    const { page, next } = paginate(items, input);
    return omitUndefined({ Schemas: page, NextToken: next });
  }

  private addRegistry(name: string, description?: string): StoredRegistry {
    const time = this.now().toISOString();
    const registry: StoredRegistry = {
      RegistryName: name,
      Description: description,
      CreatedTime: time,
      UpdatedTime: time,
      schemas: {},
    };
    this.state.registries[name] = registry;
    return registry;
  }

  private addVersion(
    registry: StoredRegistry,
    schema: StoredSchema,
    definition: string,
    status: SchemaVersionStatus,
    failureReason?: string,
  ): StoredVersion {
    const time = this.now().toISOString();
    const version: StoredVersion = omitUndefined({
      SchemaVersionId: randomUUID(),
      // A FAILURE version takes its number too, as in Glue.
      VersionNumber: (schema.versions.at(-1)?.VersionNumber ?? 0) + 1,
      SchemaDefinition: definition,
      Status: status,
      CreatedTime: time,
      failureReason,
    });
    schema.versions.push(version);
    schema.UpdatedTime = time;
    this.byVersionId.set(version.SchemaVersionId, { registry, schema, version });
    return version;
  }

  /** `RegistryId` ({RegistryName} or {RegistryArn}); absent means Glue's default registry (created on demand). */
  private findRegistry(id: unknown, createDefault: boolean): StoredRegistry {
    if (id === undefined) {
      const found = this.state.registries[DEFAULT_REGISTRY];
      if (found) return found;
      if (createDefault) return this.addRegistry(DEFAULT_REGISTRY);
      throw new GlueApiError('EntityNotFoundException', `Registry is not found: ${DEFAULT_REGISTRY}`);
    }
    if (!isObject(id)) throw new GlueApiError('InvalidInputException', 'RegistryId must be an object');
    const name = id.RegistryName ?? this.nameFromArn(id.RegistryArn, 'registry')[0];
    const registry = this.state.registries[requireName(name, 'RegistryName')];
    if (!registry) throw new GlueApiError('EntityNotFoundException', `Registry is not found: ${String(name)}`);
    return registry;
  }

  /** `SchemaId`: {SchemaArn} or {SchemaName, RegistryName?}. */
  private findSchema(id: unknown): { registry: StoredRegistry; schema: StoredSchema } {
    if (!isObject(id)) throw new GlueApiError('InvalidInputException', 'SchemaId is required');
    let registryName: unknown = id.RegistryName ?? DEFAULT_REGISTRY;
    let schemaName: unknown = id.SchemaName;
    if (id.SchemaArn !== undefined) [registryName, schemaName] = this.nameFromArn(id.SchemaArn, 'schema');
    const registry = this.state.registries[requireName(registryName, 'RegistryName')];
    const name = requireName(schemaName, 'SchemaName');
    const schema = registry?.schemas[name];
    if (!registry || !schema) {
      throw new GlueApiError('EntityNotFoundException', `Schema is not found: ${String(registryName)}/${name}`);
    }
    return { registry, schema };
  }

  private nameFromArn(arn: unknown, kind: 'registry' | 'schema'): string[] {
    const prefix = `arn:aws:glue:${this.region}:${this.accountId}:${kind}/`;
    const parts = typeof arn === 'string' && arn.startsWith(prefix) ? arn.slice(prefix.length).split('/') : [];
    if (parts.length !== (kind === 'registry' ? 1 : 2)) {
      throw new GlueApiError('InvalidInputException', `not a ${kind} ARN of this emulator: ${String(arn)}`);
    }
    return parts;
  }

  private schemaFields(registry: StoredRegistry, schema: StoredSchema): Json {
    const latest = schema.versions.at(-1)?.VersionNumber ?? 0;
    return omitUndefined({
      RegistryName: registry.RegistryName,
      RegistryArn: this.registryArn(registry.RegistryName),
      SchemaName: schema.SchemaName,
      SchemaArn: this.schemaArn(registry.RegistryName, schema.SchemaName),
      Description: schema.Description,
      DataFormat: schema.DataFormat,
      Compatibility: schema.Compatibility,
      SchemaCheckpoint: 1,
      LatestSchemaVersion: latest,
      NextSchemaVersion: latest + 1,
      SchemaStatus: 'AVAILABLE',
    });
  }

  private registryArn(name: string): string {
    return `arn:aws:glue:${this.region}:${this.accountId}:registry/${name}`;
  }

  private schemaArn(registry: string, schema: string): string {
    return `arn:aws:glue:${this.region}:${this.accountId}:schema/${registry}/${schema}`;
  }

  private changed(): void {
    this.options.onChange?.(this.state);
  }
}

/** A state with no registries. */
export function emptyState(): RegistryState {
  return { formatVersion: 1, registries: {} };
}

/**
 * Why `definition` may not follow the schema's AVAILABLE versions under its compatibility mode, or undefined.
 * BACKWARD: the new schema, as reader, reads data of the previous version (as `shared/schema-compat.ts` checks);
 * FORWARD the reverse; FULL both; the `_ALL` modes against every AVAILABLE version, not only the previous one.
 */
export function incompatibility(schema: StoredSchema, definition: string): string | undefined {
  const available = schema.versions.filter((v) => v.Status === 'AVAILABLE');
  const mode = schema.Compatibility;
  if (mode === 'NONE' || available.length === 0) return undefined;
  const against = mode.endsWith('_ALL') ? available : available.slice(-1);
  const next = avro.Type.forSchema(JSON.parse(definition) as avro.Schema);
  for (const old of against) {
    const previous = avro.Type.forSchema(JSON.parse(old.SchemaDefinition) as avro.Schema);
    const checks: [avro.Type, avro.Type, string][] = [];
    if (mode.startsWith('BACKWARD') || mode.startsWith('FULL')) checks.push([next, previous, 'read data written with']);
    if (mode.startsWith('FORWARD') || mode.startsWith('FULL')) checks.push([previous, next, 'be read by']);
    for (const [reader, writer, what] of checks) {
      try {
        reader.createResolver(writer);
      } catch (error) {
        return `${mode}: the new definition cannot ${what} version ${old.VersionNumber}: ${(error as Error).message}`;
      }
    }
  }
  return undefined;
}

/**
 * The definition's canonical form for matching ("canonicalized, and hashed" in GetSchemaByDefinition's reference):
 * the parsed JSON written without whitespace, so a re-indented definition matches its version.
 */
function canonical(definition: string): string {
  return JSON.stringify(JSON.parse(definition));
}

function findByDefinition(schema: StoredSchema, definition: string): StoredVersion | undefined {
  const wanted = canonical(definition);
  return schema.versions.find((v) => canonical(v.SchemaDefinition) === wanted);
}

/** A SchemaDefinition that is valid Avro, else InvalidInputException with avsc's reason. */
function requireDefinition(value: unknown): string {
  if (typeof value !== 'string' || !/\S/.test(value)) {
    throw new GlueApiError('InvalidInputException', 'SchemaDefinition is required');
  }
  if (value.length > QUOTAS.definitionLength) {
    throw new GlueApiError('InvalidInputException', `SchemaDefinition is longer than ${QUOTAS.definitionLength}`);
  }
  try {
    avro.Type.forSchema(JSON.parse(value) as avro.Schema);
  } catch (error) {
    throw new GlueApiError(
      'InvalidInputException',
      `Schema definition of AVRO data format is invalid: ${(error as Error).message}`,
    );
  }
  return value;
}

function requireName(value: unknown, field: string): string {
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw new GlueApiError('InvalidInputException', `${field} must match ${NAME.source}, got '${String(value)}'`);
  }
  return value;
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  throw new GlueApiError('InvalidInputException', `${field} must be a string`);
}

function paginate<T>(items: readonly T[], input: Json): { page: T[]; next?: string } {
  const max = input.MaxResults ?? 100;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 100) {
    throw new GlueApiError('InvalidInputException', 'MaxResults must be an integer from 1 to 100');
  }
  const start = typeof input.NextToken === 'string' ? Number(Buffer.from(input.NextToken, 'base64url').toString()) : 0;
  if (!Number.isInteger(start) || start < 0) throw new GlueApiError('InvalidInputException', 'NextToken is invalid');
  const page = items.slice(start, start + max);
  const end = start + page.length;
  return { page, next: end < items.length ? Buffer.from(String(end)).toString('base64url') : undefined };
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function omitUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
