/**
 * Confluent wire-format codec for orderflow events: magic byte 0, a 4-byte big-endian schema id, then the Avro
 * body (https://docs.confluent.io/platform/current/schema-registry/fundamentals/serdes-develop/index.html#wire-format).
 *
 * Each topic's value schema (subject `<topic>-value`) is its one event record, or a union of its event records
 * in topology order. Consumers read with the union compiled from `schemas/` and resolve every writer schema
 * against it, so a record written with an older, compatible schema still decodes.
 */
import type * as avro from 'avsc';
// avsc's types-only entry: 48 KiB less in each bundle than `avsc` (its files, containers, RPC services and IDL
// parser, which the codec never uses), measured with `npm run bench -- --bundles`.
import avroTypes from 'avsc/etc/browser/avsc-types.js';

type AvroResolver = ReturnType<avro.Type['createResolver']>;

import { DecodeError, TransientError } from './errors.js';
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

/** Where schemas come from: the schema registry in AWS and locally, a recorded snapshot in unit tests. */
export interface SchemaSource {
  /** The writer schema registered under `id`; throws `SchemaNotFoundError` when the registry has no such id. */
  schemaById(id: number): Promise<string>;
  /** The id of the latest schema registered under `subject`. */
  latestSchemaId(subject: string): Promise<number>;
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

/** An event ready to produce: topic, key (orderId), Confluent-framed value and headers. */
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

const MAGIC_BYTE = 0;
const HEADER_LENGTH = 5;

/** The reader type of a topic: its one record, or the union of its records (avsc wraps record unions). */
export function topicReaderSchema(topic: TopicName): unknown {
  const events = topicSpec(topic).events;
  if (events.length === 0) throw new Error(`topic ${topic} carries raw bytes, not events`);
  const schemas = events.map((type) => EVENT_SCHEMAS[type]);
  return schemas.length === 1 ? schemas[0] : schemas;
}

const EVENT_TYPE_BY_FULL_NAME = new Map<string, EventType>(
  EVENT_TYPES.map((type) => [`${SCHEMA_NAMESPACE}.${type}`, type]),
);
const FULL_NAME_BY_EVENT_TYPE = new Map<string, string>(
  [...EVENT_TYPE_BY_FULL_NAME].map(([name, type]) => [type, name]),
);

/** What `encode` needs of a topic once the latest schema of its subject is known. */
interface TopicWriter {
  readonly id: number;
  readonly type: avro.Type;
  /** The writer is a union of records: each datum is wrapped in its record's full name. */
  readonly wrapped: boolean;
}

/**
 * Encodes and decodes orderflow events. Create one per cold start: it caches schema ids, parsed writer
 * schemas and resolvers.
 *
 * @example
 * const codec = new EventCodec(registrySchemaSource(new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL })));
 * const record = await codec.encode(event);          // { topic, key, value, headers }
 * const event = await codec.decode(record.value, { topic, partition, offset });
 */
export class EventCodec {
  private readonly readers = new Map<string, avro.Type>();
  private readonly writerTypes = new Map<number, Promise<avro.Type>>();
  /** Resolvers by reader, then by writer schema id: what a decode needs once its schemas are known. */
  private readonly resolvers = new Map<avro.Type, Map<number, AvroResolver>>();
  private readonly latestIds = new Map<string, Promise<number>>();
  private readonly topicWriters = new Map<TopicName, TopicWriter>();
  /** Where `encode` writes a value before copying it out at its exact length; grown when a value does not fit. */
  private scratch = Buffer.allocUnsafe(1024);

  constructor(private readonly source: SchemaSource) {}

  /** Encodes `event` with the latest schema of its topic's subject. */
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
   * Decodes a record value of `ref.topic` into an event. Throws `DecodeError` with reason
   * DESERIALIZATION_ERROR (tombstone, not Confluent-framed, Avro mismatch) or SCHEMA_NOT_FOUND, and
   * `TransientError` when the registry cannot be reached.
   */
  async decode(value: Buffer | null, ref: RecordRef): Promise<OrderflowEvent> {
    if (value === null) {
      throw new DecodeError('DESERIALIZATION_ERROR', `record ${whereOf(ref)} is a tombstone (no value)`);
    }
    if (value.length < HEADER_LENGTH || value.readUInt8(0) !== MAGIC_BYTE) {
      throw new DecodeError(
        'DESERIALIZATION_ERROR',
        `record ${whereOf(ref)} is not Confluent-framed: expected magic byte 0 and a 4-byte schema id, got ${value.length} bytes starting 0x${value.subarray(0, HEADER_LENGTH).toString('hex')}`,
      );
    }
    const id = value.readUInt32BE(1);
    const reader = this.readerType(ref.topic as TopicName, ref);
    const resolver = this.resolvers.get(reader)?.get(id) ?? (await this.resolver(id, reader, ref));
    let datum: unknown;
    try {
      datum = reader.fromBuffer(value.subarray(HEADER_LENGTH), resolver);
    } catch (error) {
      throw new DecodeError(
        'DESERIALIZATION_ERROR',
        `record ${whereOf(ref)}: Avro body does not match schema id ${id}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    return toEvent(reader, datum, ref);
  }

  /** The Confluent frame of `event`: header and Avro body written once into `scratch`, then copied out. */
  private framed(writer: TopicWriter, event: OrderflowEvent, topic: TopicName): Buffer {
    // The writer reads only its schema's fields, so the event's `type` can stay in the datum: no schema has a
    // field of that name (decode could not return it, `type` being the event's own).
    const datum = writer.wrapped ? { [FULL_NAME_BY_EVENT_TYPE.get(event.type) as string]: event } : event;
    let end: number;
    try {
      end = writer.type.encode(datum, this.scratch, HEADER_LENGTH);
      while (end < 0) {
        this.scratch = Buffer.allocUnsafe(2 * (this.scratch.length - end));
        end = writer.type.encode(datum, this.scratch, HEADER_LENGTH);
      }
    } catch (error) {
      const paths: string[] = [];
      writer.type.isValid(datum, { errorHook: (path) => paths.push(path.join('.')) });
      throw new Error(`cannot encode ${event.type} for ${topic}: invalid fields ${paths.join(', ')}`, {
        cause: error,
      });
    }
    const value = Buffer.allocUnsafe(end);
    value.writeUInt8(MAGIC_BYTE, 0);
    value.writeUInt32BE(writer.id, 1);
    this.scratch.copy(value, HEADER_LENGTH, HEADER_LENGTH, end);
    return value;
  }

  private async topicWriter(topic: TopicName): Promise<TopicWriter> {
    const id = await this.latestId(valueSubject(topic));
    const type = await this.writerType(id, { topic, partition: -1, offset: '-1' });
    const writer = { id, type, wrapped: type.typeName === 'union:wrapped' };
    this.topicWriters.set(topic, writer);
    return writer;
  }

  private latestId(subject: string): Promise<number> {
    let id = this.latestIds.get(subject);
    if (!id) {
      id = this.source.latestSchemaId(subject);
      this.latestIds.set(subject, id);
      id.catch(() => this.latestIds.delete(subject));
    }
    return id;
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

  private writerType(id: number, ref: RecordRef): Promise<avro.Type> {
    let writer = this.writerTypes.get(id);
    if (!writer) {
      const where = whereOf(ref);
      writer = this.source.schemaById(id).then(
        (text) => avroTypes.Type.forSchema(JSON.parse(text) as avro.Schema),
        (error: unknown) => {
          if (error instanceof SchemaNotFoundError) {
            throw new DecodeError('SCHEMA_NOT_FOUND', `record ${where}: schema id ${id} is not in the registry`, {
              cause: error,
            });
          }
          throw new TransientError(`record ${where}: schema registry lookup of id ${id} failed`, { cause: error });
        },
      );
      this.writerTypes.set(id, writer);
      // Only a found schema is cached for good: a lookup that failed is tried again on the next record.
      writer.catch(() => this.writerTypes.delete(id));
    }
    return writer;
  }

  /** The resolver from writer schema `id` to `reader`, created and cached the first time a record needs it. */
  private async resolver(id: number, reader: avro.Type, ref: RecordRef): Promise<AvroResolver> {
    const writer = await this.writerType(id, ref);
    let byId = this.resolvers.get(reader);
    if (!byId) {
      byId = new Map();
      this.resolvers.set(reader, byId);
    }
    let resolver = byId.get(id);
    if (!resolver) {
      try {
        resolver = reader.createResolver(writer);
      } catch (error) {
        throw new DecodeError(
          'DESERIALIZATION_ERROR',
          `schema id ${id} cannot be read as this topic's events: ${(error as Error).message}`,
          { cause: error },
        );
      }
      byId.set(id, resolver);
    }
    return resolver;
  }
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
