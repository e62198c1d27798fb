/**
 * Confluent wire-format codec for orderflow events: magic byte 0, a 4-byte big-endian schema id, then the Avro
 * body (https://docs.confluent.io/platform/current/schema-registry/fundamentals/serdes-develop/index.html#wire-format).
 *
 * Each topic's value schema (subject `<topic>-value`) is its one event record, or a union of its event records
 * in topology order. Consumers read with the union compiled from `schemas/` and resolve every writer schema
 * against it, so a record written with an older, compatible schema still decodes.
 */
import avro from 'avsc';

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
  private readonly resolvers = new Map<string, AvroResolver>();
  private readonly latestIds = new Map<string, Promise<number>>();

  constructor(private readonly source: SchemaSource) {}

  /** Encodes `event` with the latest schema of its topic's subject. */
  async encode(event: OrderflowEvent, context: EncodeContext = {}): Promise<EncodedEvent> {
    const topic = topicOf(event.type);
    const id = await this.latestId(valueSubject(topic));
    const writer = await this.writerType(id, { topic, partition: -1, offset: '-1' });
    const { type, ...fields } = event;
    const datum = writer.typeName === 'union:wrapped' ? { [`${SCHEMA_NAMESPACE}.${type}`]: fields } : fields;
    let body: Buffer;
    try {
      body = writer.toBuffer(datum);
    } catch (error) {
      const paths: string[] = [];
      writer.isValid(datum, { errorHook: (path) => paths.push(path.join('.')) });
      throw new Error(`cannot encode ${type} for ${topic}: invalid fields ${paths.join(', ')}`, { cause: error });
    }
    const header = Buffer.alloc(HEADER_LENGTH);
    header.writeUInt8(MAGIC_BYTE, 0);
    header.writeUInt32BE(id, 1);
    const headers: Record<string, string> = {
      [HEADERS.EVENT_TYPE]: type,
      [HEADERS.CORRELATION_ID]: event.correlationId,
    };
    if (context.traceparent) headers[HEADERS.TRACEPARENT] = context.traceparent;
    return { topic, key: Buffer.from(event.orderId, 'utf8'), value: Buffer.concat([header, body]), headers };
  }

  /**
   * Decodes a record value of `ref.topic` into an event. Throws `DecodeError` with reason
   * DESERIALIZATION_ERROR (tombstone, not Confluent-framed, Avro mismatch) or SCHEMA_NOT_FOUND, and
   * `TransientError` when the registry cannot be reached.
   */
  async decode(value: Buffer | null, ref: RecordRef): Promise<OrderflowEvent> {
    const where = `${ref.topic}-${ref.partition}@${ref.offset}`;
    if (value === null) {
      throw new DecodeError('DESERIALIZATION_ERROR', `record ${where} is a tombstone (no value)`);
    }
    if (value.length < HEADER_LENGTH || value.readUInt8(0) !== MAGIC_BYTE) {
      throw new DecodeError(
        'DESERIALIZATION_ERROR',
        `record ${where} is not Confluent-framed: expected magic byte 0 and a 4-byte schema id, got ${value.length} bytes starting 0x${value.subarray(0, HEADER_LENGTH).toString('hex')}`,
      );
    }
    const id = value.readUInt32BE(1);
    const reader = this.readerType(ref.topic as TopicName, where);
    const writer = await this.writerType(id, ref);
    let datum: unknown;
    try {
      datum = reader.fromBuffer(value.subarray(HEADER_LENGTH), this.resolver(id, reader, writer));
    } catch (error) {
      throw new DecodeError(
        'DESERIALIZATION_ERROR',
        `record ${where}: Avro body does not match schema id ${id}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    return toEvent(reader, datum, where);
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

  private readerType(topic: TopicName, where: string): avro.Type {
    let reader = this.readers.get(topic);
    if (!reader) {
      let schema: unknown;
      try {
        schema = topicReaderSchema(topic);
      } catch (error) {
        throw new DecodeError('DESERIALIZATION_ERROR', `record ${where}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      reader = avro.Type.forSchema(schema as avro.Schema);
      this.readers.set(topic, reader);
    }
    return reader;
  }

  private writerType(id: number, ref: RecordRef): Promise<avro.Type> {
    let writer = this.writerTypes.get(id);
    if (!writer) {
      const where = `${ref.topic}-${ref.partition}@${ref.offset}`;
      writer = this.source.schemaById(id).then(
        (text) => avro.Type.forSchema(JSON.parse(text) as avro.Schema),
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

  private resolver(id: number, reader: avro.Type, writer: avro.Type): AvroResolver {
    const key = `${reader.name ?? reader.typeName}:${id}`;
    let resolver = this.resolvers.get(key);
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
      this.resolvers.set(key, resolver);
    }
    return resolver;
  }
}

function toEvent(reader: avro.Type, datum: unknown, where: string): OrderflowEvent {
  let fullName: string | undefined;
  let fields: unknown = datum;
  if (reader.typeName === 'union:wrapped') {
    const [branch] = Object.entries(datum as Record<string, unknown>);
    if (!branch) throw new DecodeError('DESERIALIZATION_ERROR', `record ${where}: empty union value`);
    [fullName, fields] = branch;
  } else {
    fullName = reader.name;
  }
  const type = fullName ? EVENT_TYPE_BY_FULL_NAME.get(fullName) : undefined;
  if (!type) throw new DecodeError('DESERIALIZATION_ERROR', `record ${where}: unknown record type ${fullName}`);
  // avsc returns instances of generated record classes; spread them into plain objects for the logic.
  return { ...(fields as object), type } as OrderflowEvent;
}
