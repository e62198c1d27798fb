/**
 * Wire-format codec for orderflow events, in both formats Kafka records of an MSK cluster carry:
 * - Confluent: magic byte 0, a 4-byte big-endian schema id, then the Avro body
 *   (https://docs.confluent.io/platform/current/schema-registry/fundamentals/serdes-develop/index.html#wire-format);
 * - AWS Glue Schema Registry: header version byte 3, a compression byte (0 none, 5 zlib), the 16-byte schema version
 *   UUID, then the Avro body, zlib-deflated when the compression byte is 5 (as AWS's serde writes it:
 *   awslabs/aws-glue-schema-registry, `SerializationDataEncoder` and `GlueSchemaRegistryDeserializerDataParser`).
 *
 * Decoding tells the two apart by the first byte, so a consumer reads both while producers move from one registry to
 * the other; encoding writes the configured one.
 *
 * Each topic's value schema (subject or Glue schema name `<topic>-value`) is its one event record, or a union of its
 * event records in topology order. Consumers read with the union compiled from `schemas/` and resolve every writer
 * schema against it, so a record written with an older, compatible schema still decodes.
 */
import { deflateSync, inflateSync } from 'node:zlib';
import type * as avro from 'avsc';
// avsc's types-only entry: 48 KiB less in each bundle than `avsc` (its files, containers, RPC services and IDL
// parser, which the codec never uses), measured with `npm run bench -- --bundles`.
import avroTypes from 'avsc/etc/browser/avsc-types.js';

type AvroResolver = ReturnType<avro.Type['createResolver']>;

import { ConfigError, DecodeError, TransientError } from './errors.js';
import type { OrderflowEvent } from './events.js';
import { EVENT_SCHEMAS } from './schemas.generated.js';
import {
  EVENT_TYPES,
  type EventType,
  SCHEMA_NAMESPACE,
  type TopicName,
  topicOf,
  topicSpec,
  valueSubject,
} from './topology.js';

/** Kafka header names orderflow writes on every event. */
export const HEADERS = {
  EVENT_TYPE: 'event-type',
  CORRELATION_ID: 'correlation-id',
  TRACEPARENT: 'traceparent',
} as const;

/**
 * Where schemas come from, by the id type of a registry: a Confluent-compatible registry's numeric schema ids
 * (`SchemaSource<number>`, the default) or Glue's schema version UUIDs (`SchemaSource<string>`, lowercase and dashed
 * as Glue prints them). In AWS and locally a live registry, in unit tests a recorded snapshot.
 */
export interface SchemaSource<Id extends number | string = number> {
  /** The writer schema registered under `id`; throws `SchemaNotFoundError` when the registry has no such id. */
  schemaById(id: Id): Promise<string>;
  /** The id of the latest usable schema under `subject` (Glue: the schema of that name). */
  latestSchemaId(subject: string): Promise<Id>;
}

/** The registry has no schema with the requested id or subject. */
export class SchemaNotFoundError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SchemaNotFoundError';
  }
}

/** Identifies a Kafka record in error messages and dead letters. */
export interface RecordRef {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/** An event ready to produce: topic, key (orderId), framed value and headers. */
export interface EncodedEvent {
  readonly topic: TopicName;
  readonly key: Buffer;
  readonly value: Buffer;
  readonly headers: Record<string, string>;
}

/** Trace context to propagate on produced records. */
export interface EncodeContext {
  /** W3C traceparent of the current invocation, when tracing is on. */
  readonly traceparent?: string;
}

/** A wire format: `confluent` (magic byte 0 + 4-byte id) or `glue` (header version 3 + compression + UUID). */
export type WireFormat = 'confluent' | 'glue';

/** The schema sources of a codec, one per registry, and what `encode` writes. */
export interface EventCodecOptions {
  /**
   * The Confluent-compatible registry (`SCHEMA_REGISTRY_URL`).
   * @default - none: Confluent-framed records fail to decode, naming SCHEMA_REGISTRY_URL
   */
  readonly confluent?: SchemaSource<number>;
  /**
   * The Glue registry (`GLUE_REGISTRY_NAME`).
   * @default - none: Glue-framed records fail to decode, naming GLUE_REGISTRY_NAME
   */
  readonly glue?: SchemaSource<string>;
  /** The wire format of encoded records; its source must be given. @default 'confluent' */
  readonly encodeWith?: WireFormat;
  /** Whether Glue-framed records are zlib-compressed (compression byte 5). @default false, as AWS's serde */
  readonly glueCompression?: boolean;
}

const MAGIC_BYTE = 0;
const CONFLUENT_HEADER_LENGTH = 5;
const GLUE_HEADER_VERSION = 3;
const GLUE_COMPRESSION_NONE = 0;
const GLUE_COMPRESSION_ZLIB = 5;
const GLUE_HEADER_LENGTH = 18;
/** The header of the longest frame: `encode` writes bodies after it. */
const MAX_HEADER_LENGTH = GLUE_HEADER_LENGTH;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The reader type of a topic: its one record, or the union of its records (avsc wraps record unions). */
export function topicReaderSchema(topic: TopicName): unknown {
  const events = topicSpec(topic).events;
  if (events.length === 0) throw new Error(`topic ${topic} carries raw bytes, not events`);
  const schemas = events.map((type) => EVENT_SCHEMAS[type]);
  return schemas.length === 1 ? schemas[0] : schemas;
}

/** The 16 bytes of a dashed UUID string, most significant first (what Glue's header carries). */
export function uuidBytes(uuid: string): Buffer {
  if (!UUID_PATTERN.test(uuid)) throw new Error(`not a lowercase dashed UUID: ${JSON.stringify(uuid)}`);
  return Buffer.from(uuid.replaceAll('-', ''), 'hex');
}

/** The dashed UUID string of 32 hex digits. */
function dashed(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const EVENT_TYPE_BY_FULL_NAME = new Map<string, EventType>(
  EVENT_TYPES.map((type) => [`${SCHEMA_NAMESPACE}.${type}`, type]),
);
const FULL_NAME_BY_EVENT_TYPE = new Map<string, string>(
  [...EVENT_TYPE_BY_FULL_NAME].map(([name, type]) => [type, name]),
);

/** What `encode` needs of a topic once the latest schema of its subject is known. */
interface TopicWriter {
  /** The frame's header: Confluent's 5 bytes or Glue's 18, id included. */
  readonly header: Buffer;
  readonly type: avro.Type;
  /** The writer is a union of records: each datum is wrapped in its record's full name. */
  readonly wrapped: boolean;
  /** The body is zlib-deflated (Glue, compression byte 5). */
  readonly deflate: boolean;
}

/**
 * One registry as the codec sees it: its source, the writer types and resolvers found in it, and how its ids read
 * in messages. `Key` is what the hot path reads from the header (Confluent: the id; Glue: its 32 hex digits).
 */
class Registry<Id extends number | string, Key extends number | string> {
  private readonly writerTypes = new Map<Key, Promise<avro.Type>>();
  /** Resolvers by reader, then by writer key: what a decode needs once its schemas are known. */
  readonly resolvers = new Map<avro.Type, Map<Key, AvroResolver>>();
  private readonly latestIds = new Map<string, Promise<Id>>();

  constructor(
    private readonly source: SchemaSource<Id>,
    private readonly idOf: (key: Key) => Id,
    /** How an id is named in messages: `schema id 7`, `Glue schema version <uuid>`. */
    readonly describe: (id: Id) => string,
  ) {}

  /** How the id behind `key` is named in messages. */
  name(key: Key): string {
    return this.describe(this.idOf(key));
  }

  latestId(subject: string): Promise<Id> {
    let id = this.latestIds.get(subject);
    if (!id) {
      id = this.source.latestSchemaId(subject);
      this.latestIds.set(subject, id);
      id.catch(() => this.latestIds.delete(subject));
    }
    return id;
  }

  writerType(key: Key, ref: RecordRef): Promise<avro.Type> {
    let writer = this.writerTypes.get(key);
    if (!writer) {
      const where = whereOf(ref);
      const id = this.idOf(key);
      writer = this.source.schemaById(id).then(
        (text) => avroTypes.Type.forSchema(JSON.parse(text) as avro.Schema),
        (error: unknown) => {
          if (error instanceof SchemaNotFoundError) {
            throw new DecodeError('SCHEMA_NOT_FOUND', `record ${where}: ${this.describe(id)} is not in the registry`, {
              cause: error,
            });
          }
          throw new TransientError(`record ${where}: schema registry lookup of ${this.describe(id)} failed`, {
            cause: error,
          });
        },
      );
      this.writerTypes.set(key, writer);
      // Only a found schema is cached for good: a lookup that failed is tried again on the next record.
      writer.catch(() => this.writerTypes.delete(key));
    }
    return writer;
  }

  /** The resolver from writer `key` to `reader`, created and cached the first time a record needs it. */
  async resolver(key: Key, reader: avro.Type, ref: RecordRef): Promise<AvroResolver> {
    const writer = await this.writerType(key, ref);
    let byKey = this.resolvers.get(reader);
    if (!byKey) {
      byKey = new Map();
      this.resolvers.set(reader, byKey);
    }
    let resolver = byKey.get(key);
    if (!resolver) {
      try {
        resolver = reader.createResolver(writer);
      } catch (error) {
        throw new DecodeError(
          'DESERIALIZATION_ERROR',
          `record ${whereOf(ref)}: ${this.describe(this.idOf(key))} cannot be read as this topic's events: ${(error as Error).message}`,
          { cause: error },
        );
      }
      byKey.set(key, resolver);
    }
    return resolver;
  }
}

/**
 * Encodes and decodes orderflow events in the Confluent and the Glue wire format. Create one per cold start: it
 * caches schema ids, parsed writer schemas and resolvers. `new EventCodec(source)` is a Confluent-only codec.
 *
 * @example
 * const codec = new EventCodec({ glue: glueSchemaSource({ registryName }), confluent, encodeWith: 'glue' });
 * const record = await codec.encode(event);          // { topic, key, value, headers }
 * const event = await codec.decode(record.value, { topic, partition, offset });
 */
export class EventCodec {
  private readonly readers = new Map<string, avro.Type>();
  private readonly confluent: Registry<number, number> | undefined;
  private readonly glue: Registry<string, string> | undefined;
  private readonly encodeWith: WireFormat;
  private readonly glueCompression: boolean;
  private readonly topicWriters = new Map<TopicName, TopicWriter>();
  /** Where `encode` writes a value before copying it out at its exact length; grown when a value does not fit. */
  private scratch = Buffer.allocUnsafe(1024);

  constructor(sources: SchemaSource<number> | EventCodecOptions) {
    const options: EventCodecOptions = 'schemaById' in sources ? { confluent: sources } : sources;
    this.confluent =
      options.confluent &&
      new Registry<number, number>(
        options.confluent,
        (id) => id,
        (id) => `schema id ${id}`,
      );
    this.glue = options.glue && new Registry<string, string>(options.glue, dashed, (id) => `Glue schema version ${id}`);
    this.encodeWith = options.encodeWith ?? 'confluent';
    this.glueCompression = options.glueCompression ?? false;
    if (!(this.encodeWith === 'glue' ? this.glue : this.confluent)) {
      throw new ConfigError(
        `cannot encode in the ${this.encodeWith} wire format without its registry (${missingVariable(this.encodeWith)})`,
      );
    }
  }

  /** Encodes `event` with the latest schema of its topic's subject, in the configured wire format. */
  async encode(event: OrderflowEvent, context: EncodeContext = {}): Promise<EncodedEvent> {
    const topic = topicOf(event.type);
    // Once a topic's schema is known, encoding is synchronous: no await per event for cached lookups.
    const writer = this.topicWriters.get(topic) ?? (await this.topicWriter(topic));
    const headers: Record<string, string> = {
      [HEADERS.EVENT_TYPE]: event.type,
      [HEADERS.CORRELATION_ID]: event.correlationId,
    };
    if (context.traceparent) headers[HEADERS.TRACEPARENT] = context.traceparent;
    return { topic, key: Buffer.from(event.orderId, 'utf8'), value: this.framed(writer, event, topic), headers };
  }

  /**
   * Decodes a record value of `ref.topic` into an event, Confluent- or Glue-framed. Throws `DecodeError` with reason
   * DESERIALIZATION_ERROR (tombstone, neither framing, a corrupt Glue header or zlib body, Avro mismatch) or
   * SCHEMA_NOT_FOUND (unknown id, or no registry configured for the record's framing), and `TransientError` when
   * the registry cannot be reached.
   */
  async decode(value: Buffer | null, ref: RecordRef): Promise<OrderflowEvent> {
    if (value === null) {
      throw new DecodeError('DESERIALIZATION_ERROR', `record ${whereOf(ref)} is a tombstone (no value)`);
    }
    const first = value.length > 0 ? value[0] : undefined;
    // Both formats inline in this one async function: a second one awaited here would cost microtask ticks per record.
    if (first === GLUE_HEADER_VERSION) {
      const { key, body } = readGlueFrame(value, ref);
      const registry = this.glue;
      if (!registry) throw notConfigured('glue', `Glue schema version ${dashed(key)}`, ref);
      const reader = this.readerType(ref.topic as TopicName, ref);
      const resolver = registry.resolvers.get(reader)?.get(key) ?? (await registry.resolver(key, reader, ref));
      return this.read(reader, body, resolver, registry, key, ref);
    }
    if (first !== MAGIC_BYTE || value.length < CONFLUENT_HEADER_LENGTH) {
      throw new DecodeError(
        'DESERIALIZATION_ERROR',
        `record ${whereOf(ref)} is not Confluent-framed (magic byte 0 and a 4-byte schema id) nor Glue-framed (header version 3): got ${value.length} bytes starting 0x${value.subarray(0, CONFLUENT_HEADER_LENGTH).toString('hex')}`,
      );
    }
    const registry = this.confluent;
    const id = value.readUInt32BE(1);
    if (!registry) throw notConfigured('confluent', `schema id ${id}`, ref);
    const reader = this.readerType(ref.topic as TopicName, ref);
    const resolver = registry.resolvers.get(reader)?.get(id) ?? (await registry.resolver(id, reader, ref));
    return this.read(reader, value.subarray(CONFLUENT_HEADER_LENGTH), resolver, registry, id, ref);
  }

  private read<Key extends number | string>(
    reader: avro.Type,
    body: Buffer,
    resolver: AvroResolver,
    registry: Registry<number, Key> | Registry<string, Key>,
    key: Key,
    ref: RecordRef,
  ): OrderflowEvent {
    let datum: unknown;
    try {
      datum = reader.fromBuffer(body, resolver);
    } catch (error) {
      throw new DecodeError(
        'DESERIALIZATION_ERROR',
        `record ${whereOf(ref)}: Avro body does not match ${registry.name(key)}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    return toEvent(reader, datum, ref);
  }

  /** The frame of `event`: the Avro body written once into `scratch` after the header, then copied out. */
  private framed(writer: TopicWriter, event: OrderflowEvent, topic: TopicName): Buffer {
    // The writer reads only its schema's fields, so the event's `type` can stay in the datum: no schema has a
    // field of that name (decode could not return it, `type` being the event's own).
    const datum = writer.wrapped ? { [FULL_NAME_BY_EVENT_TYPE.get(event.type) as string]: event } : event;
    let end: number;
    try {
      end = writer.type.encode(datum, this.scratch, MAX_HEADER_LENGTH);
      while (end < 0) {
        this.scratch = Buffer.allocUnsafe(2 * (this.scratch.length - end));
        end = writer.type.encode(datum, this.scratch, MAX_HEADER_LENGTH);
      }
    } catch (error) {
      const paths: string[] = [];
      writer.type.isValid(datum, { errorHook: (path) => paths.push(path.join('.')) });
      throw new Error(`cannot encode ${event.type} for ${topic}: invalid fields ${paths.join(', ')}`, {
        cause: error,
      });
    }
    const { header } = writer;
    if (writer.deflate) {
      return Buffer.concat([header, deflateSync(this.scratch.subarray(MAX_HEADER_LENGTH, end))]);
    }
    const value = Buffer.allocUnsafe(header.length + end - MAX_HEADER_LENGTH);
    header.copy(value, 0);
    this.scratch.copy(value, header.length, MAX_HEADER_LENGTH, end);
    return value;
  }

  private async topicWriter(topic: TopicName): Promise<TopicWriter> {
    const ref = { topic, partition: -1, offset: '-1' };
    let header: Buffer;
    let type: avro.Type;
    let deflate = false;
    if (this.encodeWith === 'glue') {
      const registry = this.glue as Registry<string, string>;
      const id = await registry.latestId(valueSubject(topic));
      type = await registry.writerType(uuidBytes(id).toString('hex'), ref);
      deflate = this.glueCompression;
      header = glueHeader(id, deflate);
    } else {
      const registry = this.confluent as Registry<number, number>;
      const id = await registry.latestId(valueSubject(topic));
      type = await registry.writerType(id, ref);
      header = Buffer.alloc(CONFLUENT_HEADER_LENGTH);
      header.writeUInt8(MAGIC_BYTE, 0);
      header.writeUInt32BE(id, 1);
    }
    const writer = { header, type, wrapped: type.typeName === 'union:wrapped', deflate };
    this.topicWriters.set(topic, writer);
    return writer;
  }

  private readerType(topic: TopicName, ref: RecordRef): avro.Type {
    let reader = this.readers.get(topic);
    if (!reader) {
      let schema: unknown;
      try {
        schema = topicReaderSchema(topic);
      } catch (error) {
        throw new DecodeError('DESERIALIZATION_ERROR', `record ${whereOf(ref)}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      reader = avroTypes.Type.forSchema(schema as avro.Schema);
      this.readers.set(topic, reader);
    }
    return reader;
  }
}

/**
 * The 18-byte Glue header of records written with schema version `uuid`: version 3, compression 5 (zlib) when
 * `zlib` else 0, the UUID's 16 bytes most significant first (`SerializationDataEncoder` in AWS's serde).
 */
export function glueHeader(uuid: string, zlib: boolean): Buffer {
  return Buffer.concat([
    Buffer.from([GLUE_HEADER_VERSION, zlib ? GLUE_COMPRESSION_ZLIB : GLUE_COMPRESSION_NONE]),
    uuidBytes(uuid),
  ]);
}

/**
 * The schema version (its 32 hex digits) and the Avro body (inflated when compressed) of a Glue-framed value.
 * Throws `DecodeError('DESERIALIZATION_ERROR')` on a wrong version byte, a short header, an unknown compression
 * byte or a body that is not zlib, with the checks of AWS's `GlueSchemaRegistryDeserializerDataParser`.
 */
export function readGlueFrame(value: Buffer, ref: RecordRef): { readonly key: string; readonly body: Buffer } {
  if (value.length < GLUE_HEADER_LENGTH || value[0] !== GLUE_HEADER_VERSION) {
    throw new DecodeError(
      'DESERIALIZATION_ERROR',
      `record ${whereOf(ref)} is not Glue-framed: a Glue header is ${GLUE_HEADER_LENGTH} bytes (version 3, compression, 16-byte schema version id), got ${value.length} bytes starting 0x${value.subarray(0, GLUE_HEADER_LENGTH).toString('hex')}`,
    );
  }
  const compression = value[1];
  if (compression !== GLUE_COMPRESSION_NONE && compression !== GLUE_COMPRESSION_ZLIB) {
    throw new DecodeError(
      'DESERIALIZATION_ERROR',
      `record ${whereOf(ref)} is not Glue-framed: unknown compression byte ${compression} (0 none, 5 zlib)`,
    );
  }
  const key = value.toString('hex', 2, GLUE_HEADER_LENGTH);
  const body = value.subarray(GLUE_HEADER_LENGTH);
  if (compression === GLUE_COMPRESSION_NONE) return { key, body };
  try {
    return { key, body: inflateSync(body) };
  } catch (error) {
    throw new DecodeError(
      'DESERIALIZATION_ERROR',
      `record ${whereOf(ref)}: Glue body (compression byte 5, schema version ${dashed(key)}) is not valid zlib: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** The variable that configures a wire format's registry. */
function missingVariable(format: WireFormat): string {
  return format === 'glue' ? 'GLUE_REGISTRY_NAME' : 'SCHEMA_REGISTRY_URL';
}

/** A record framed for a registry this codec was not given: a poison record, its reason naming the variable. */
function notConfigured(format: WireFormat, writer: string, ref: RecordRef): DecodeError {
  const name = format === 'glue' ? 'Glue' : 'Confluent';
  return new DecodeError(
    'SCHEMA_NOT_FOUND',
    `record ${whereOf(ref)} is ${name}-framed (${writer}) but no ${name} registry is configured: set ${missingVariable(format)}`,
  );
}

/** `topic-partition@offset`, how error messages name a record. */
function whereOf(ref: RecordRef): string {
  return `${ref.topic}-${ref.partition}@${ref.offset}`;
}

function toEvent(reader: avro.Type, datum: unknown, ref: RecordRef): OrderflowEvent {
  let fullName: string | undefined;
  let fields: unknown = datum;
  if (reader.typeName === 'union:wrapped') {
    const [branch] = Object.entries(datum as Record<string, unknown>);
    if (!branch) throw new DecodeError('DESERIALIZATION_ERROR', `record ${whereOf(ref)}: empty union value`);
    [fullName, fields] = branch;
  } else {
    fullName = reader.name;
  }
  const type = fullName ? EVENT_TYPE_BY_FULL_NAME.get(fullName) : undefined;
  if (!type) {
    throw new DecodeError('DESERIALIZATION_ERROR', `record ${whereOf(ref)}: unknown record type ${fullName}`);
  }
  // avsc returns instances of generated record classes; spread them into plain objects for the logic.
  return { ...(fields as object), type } as OrderflowEvent;
}
