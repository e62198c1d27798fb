import { deflateSync } from 'node:zlib';
import { describe, expect, it } from '@jest/globals';
import avro from 'avsc';
import { EventCodec, glueHeader, HEADERS, readGlueFrame } from './codec.js';
import { ConfigError, DecodeError, TransientError } from './errors.js';
import type { EventOf } from './events.js';
import { glueSnapshotSchemaSource, snapshotSchemaSource } from './schema-registry.js';
import { EVENT_SCHEMAS } from './schemas.generated.js';
import { recordedCodec, recordedGlueRegistry, recordedRegistry } from './testing/fixtures.js';
import { SCHEMA_NAMESPACE, TOPICS } from './topology.js';

const placed: EventOf<'OrderPlaced'> = {
  type: 'OrderPlaced',
  eventId: 'e-1',
  orderId: 'o-1',
  occurredAt: 1_763_700_000_000,
  correlationId: 'c-1',
  customerId: 'cust-1',
  email: 'ada@example.com',
  currency: 'EUR',
  items: [{ sku: 'SKU-1', quantity: 2 }],
  paymentToken: null,
};

const rejected: EventOf<'OrderRejected'> = {
  type: 'OrderRejected',
  eventId: 'e-2',
  orderId: 'o-2',
  occurredAt: 1_763_700_000_000,
  correlationId: 'c-2',
  customerId: 'cust-2',
  email: 'bob@example.com',
  reason: 'UNKNOWN_SKU',
  detail: 'unknown SKU: NOPE',
};

const ref = (topic: string) => ({ topic, partition: 0, offset: '7' });

describe('EventCodec', () => {
  it('round-trips an event through the Confluent wire format with key and headers', async () => {
    // Prepare
    const codec = recordedCodec();

    // Act
    const encoded = await codec.encode(placed, { traceparent: '00-abc-def-01' });
    const decoded = await codec.decode(encoded.value, ref(encoded.topic));

    // Assess
    expect(encoded.topic).toBe(TOPICS.ORDERS_RAW);
    expect(encoded.value.readUInt8(0)).toBe(0);
    expect(encoded.value.readUInt32BE(1)).toBe(1);
    expect(encoded.key.toString('utf8')).toBe('o-1');
    expect(encoded.headers).toEqual({
      [HEADERS.EVENT_TYPE]: 'OrderPlaced',
      [HEADERS.CORRELATION_ID]: 'c-1',
      [HEADERS.TRACEPARENT]: '00-abc-def-01',
    });
    expect(decoded).toEqual(placed);
  });

  it('round-trips a member of a union topic', async () => {
    const codec = recordedCodec();

    const encoded = await codec.encode(rejected);
    const decoded = await codec.decode(encoded.value, ref(encoded.topic));

    expect(encoded.topic).toBe(TOPICS.ORDERS_VALIDATED);
    expect(decoded).toEqual(rejected);
  });

  it('fails when the record is a tombstone', async () => {
    await expect(recordedCodec().decode(null, ref(TOPICS.ORDERS_RAW))).rejects.toMatchObject({
      reason: 'DESERIALIZATION_ERROR',
      message: expect.stringContaining('orders.raw-0@7 is a tombstone'),
    });
  });

  it('fails when the value is not Confluent-framed', async () => {
    const error = await recordedCodec()
      .decode(Buffer.from('{"orderId":"x"}'), ref(TOPICS.ORDERS_RAW))
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DecodeError);
    expect(error).toMatchObject({
      reason: 'DESERIALIZATION_ERROR',
      message: expect.stringContaining('is not Confluent-framed (magic byte 0 and a 4-byte schema id) nor Glue-framed'),
    });
  });

  it('fails with SCHEMA_NOT_FOUND when the schema id is unknown', async () => {
    const codec = recordedCodec();
    const encoded = await codec.encode(placed);
    const value = Buffer.from(encoded.value);
    value.writeUInt32BE(999, 1);

    await expect(codec.decode(value, ref(TOPICS.ORDERS_RAW))).rejects.toMatchObject({
      reason: 'SCHEMA_NOT_FOUND',
      message: expect.stringContaining('schema id 999'),
    });
  });

  it('fails when the body was written with another schema than its id says', async () => {
    const codec = recordedCodec();
    const framed = await codec.encode(placed);
    const other = avro.Type.forSchema(EVENT_SCHEMAS.PaymentProcessed as avro.Schema).toBuffer({
      eventId: 'e',
      orderId: 'o',
      occurredAt: 1,
      correlationId: 'c',
      paymentId: 'p',
      amountCents: 1,
      currency: 'EUR',
    });
    const value = Buffer.concat([framed.value.subarray(0, 5), other]);

    await expect(codec.decode(value, ref(TOPICS.ORDERS_RAW))).rejects.toMatchObject({
      reason: 'DESERIALIZATION_ERROR',
      message: expect.stringContaining('does not match schema id 1'),
    });
  });

  it('frames exactly the Avro bytes of the latest schema, for a value larger than its encoding buffer', async () => {
    // Prepare: 200 lines of long SKUs make the value several kilobytes.
    const codec = recordedCodec();
    const lines = Array.from({ length: 200 }, (_, i) => ({
      sku: `SKU-${'X'.repeat(40)}-${i}`,
      quantity: 1,
      unitPriceCents: 100 + i,
      lineTotalCents: 100 + i,
    }));
    const validated: EventOf<'OrderValidated'> = {
      type: 'OrderValidated',
      eventId: 'e-3',
      orderId: 'o-3',
      occurredAt: 1_763_700_000_000,
      correlationId: 'c-3',
      customerId: 'cust-3',
      email: 'eve@example.com',
      currency: 'EUR',
      lines,
      totalCents: lines.reduce((sum, l) => sum + l.lineTotalCents, 0),
      status: 'PENDING',
      validatedAt: 1_763_700_000_000,
      paymentToken: null,
    };
    const { type, ...fields } = validated;
    const union = avro.Type.forSchema([EVENT_SCHEMAS.OrderValidated, EVENT_SCHEMAS.OrderRejected] as avro.Schema);

    // Act
    const first = await codec.encode(placed);
    const large = await codec.encode(validated);
    const after = await codec.encode(placed);

    // Assess
    const header = (id: number) => Buffer.from([0, 0, 0, 0, id]);
    const placedBody = avro.Type.forSchema(EVENT_SCHEMAS.OrderPlaced as avro.Schema).toBuffer(placed);
    expect(large.value.length).toBeGreaterThan(4096);
    expect(large.value).toEqual(
      Buffer.concat([header(2), union.toBuffer({ [`${SCHEMA_NAMESPACE}.${type}`]: fields })]),
    );
    expect(first.value).toEqual(Buffer.concat([header(1), placedBody]));
    expect(after.value).toEqual(first.value);
    expect(await codec.decode(large.value, ref(large.topic))).toEqual(validated);
  });

  it('fails naming the invalid fields of an event its schema cannot encode', async () => {
    const codec = recordedCodec();
    const invalid = { ...placed, occurredAt: 'yesterday' } as unknown as EventOf<'OrderPlaced'>;

    await expect(codec.encode(invalid)).rejects.toThrow(
      'cannot encode OrderPlaced for orders.raw: invalid fields occurredAt',
    );
  });
});

/** The Glue schema version of orders.raw in the recorded Glue registry. */
const ORDERS_RAW_VERSION = recordedGlueRegistry().schemas['orders.raw-value'] as string;
const placedBody = () => avro.Type.forSchema(EVENT_SCHEMAS.OrderPlaced as avro.Schema).toBuffer(placed);

/** AWS's own serde test vector (awslabs/aws-glue-schema-registry, AWSKafkaAvroSerDeTest `genericBytes`). */
const AWS_VECTOR = {
  uuid: 'b7b4a7f0-9c96-4e4a-a687-fb5de9ef0c63',
  schema: {
    namespace: 'com.amazonaws.services.schemaregistry.serializers.avro',
    type: 'record',
    name: 'User',
    fields: [
      { name: 'name', type: 'string' },
      { name: 'favorite_number', type: ['int', 'null'] },
      { name: 'favorite_color', type: ['string', 'null'] },
    ],
  },
  record: { name: 'sansa', favorite_number: 99, favorite_color: 'red' },
  plain: '0300b7b4a7f09c964e4aa687fb5de9ef0c630a73616e736100c6010006726564',
  // Java's Deflater with its defaults; Node's deflateSync writes the same bytes.
  zlib: '0305b7b4a7f09c964e4aa687fb5de9ef0c63789ce32a4ecc2b4e6438c6c8c056949a02001faa0429',
};

describe('Glue framing', () => {
  it("reads AWS's serde vector, plain and zlib-compressed, to the same schema version and Avro body", () => {
    // Prepare
    const user = avro.Type.forSchema(AWS_VECTOR.schema as avro.Schema);

    // Act
    const plain = readGlueFrame(Buffer.from(AWS_VECTOR.plain, 'hex'), ref('users'));
    const zlib = readGlueFrame(Buffer.from(AWS_VECTOR.zlib, 'hex'), ref('users'));

    // Assess
    expect(plain.key).toBe(AWS_VECTOR.uuid.replaceAll('-', ''));
    expect(zlib.key).toBe(plain.key);
    expect(zlib.body).toEqual(plain.body);
    expect({ ...user.fromBuffer(plain.body) }).toEqual(AWS_VECTOR.record);
  });

  it("writes AWS's serde vector byte for byte, plain and zlib-compressed", () => {
    const body = avro.Type.forSchema(AWS_VECTOR.schema as avro.Schema).toBuffer(AWS_VECTOR.record);

    const plain = Buffer.concat([glueHeader(AWS_VECTOR.uuid, false), body]);
    const zlib = Buffer.concat([glueHeader(AWS_VECTOR.uuid, true), deflateSync(body)]);

    expect(plain.toString('hex')).toBe(AWS_VECTOR.plain);
    expect(zlib.toString('hex')).toBe(AWS_VECTOR.zlib);
  });
});

describe('EventCodec, Glue wire format', () => {
  it('encodes version 3, compression 0, the 16 UUID bytes and the Avro body, and decodes it', async () => {
    // Prepare
    const codec = recordedCodec('glue');

    // Act
    const encoded = await codec.encode(placed);
    const decoded = await codec.decode(encoded.value, ref(encoded.topic));

    // Assess
    const uuid = Buffer.from(ORDERS_RAW_VERSION.replaceAll('-', ''), 'hex');
    expect(encoded.value.subarray(0, 2)).toEqual(Buffer.from([0x03, 0x00]));
    expect(encoded.value.subarray(2, 18)).toEqual(uuid);
    expect(encoded.value).toEqual(Buffer.concat([Buffer.from([3, 0]), uuid, placedBody()]));
    expect(encoded.headers[HEADERS.EVENT_TYPE]).toBe('OrderPlaced');
    expect(decoded).toEqual(placed);
  });

  it('encodes a zlib-compressed body behind compression byte 5 when configured, and decodes it', async () => {
    const codec = recordedCodec('glue', { glueCompression: true });

    const encoded = await codec.encode(placed);
    const decoded = await codec.decode(encoded.value, ref(encoded.topic));

    expect(encoded.value).toEqual(Buffer.concat([glueHeader(ORDERS_RAW_VERSION, true), deflateSync(placedBody())]));
    expect(encoded.value.subarray(18, 20)).toEqual(Buffer.from([0x78, 0x9c]));
    expect(decoded).toEqual(placed);
  });

  it('round-trips a member of a union topic', async () => {
    const codec = recordedCodec('glue');

    const encoded = await codec.encode(rejected);

    expect(encoded.value.subarray(2, 18).toString('hex')).toBe(
      (recordedGlueRegistry().schemas['orders.validated-value'] as string).replaceAll('-', ''),
    );
    expect(await codec.decode(encoded.value, ref(encoded.topic))).toEqual(rejected);
  });

  it('decodes a mixed stream of Confluent- and Glue-framed records in order', async () => {
    // Prepare: what producers write during a migration, one registry after the other and back.
    const confluent = recordedCodec('confluent');
    const glue = recordedCodec('glue');
    const zlib = recordedCodec('glue', { glueCompression: true });
    const events = [placed, rejected, { ...placed, orderId: 'o-3' }, { ...rejected, orderId: 'o-4' }];
    const writers = [confluent, glue, zlib, confluent];
    const values = await Promise.all(events.map(async (e, i) => (await (writers[i] as EventCodec).encode(e)).value));

    // Act: one consumer with both registries.
    const consumer = recordedCodec();
    const decoded = [];
    for (const [i, value] of values.entries()) {
      decoded.push(await consumer.decode(value, ref(i % 2 === 0 ? TOPICS.ORDERS_RAW : TOPICS.ORDERS_VALIDATED)));
    }

    // Assess
    expect(values.map((v) => v.subarray(0, 2).toString('hex'))).toEqual(['0000', '0300', '0305', '0000']);
    expect(decoded).toEqual(events);
  });

  it.each([
    [
      'a wrong version byte',
      '02',
      'nor Glue-framed (header version 3): got 73 bytes starting 0x0200',
      'DESERIALIZATION_ERROR',
    ],
    ['a header shorter than 18 bytes', 'short', 'a Glue header is 18 bytes', 'DESERIALIZATION_ERROR'],
    [
      'an unknown compression byte',
      'compression',
      'unknown compression byte 7 (0 none, 5 zlib)',
      'DESERIALIZATION_ERROR',
    ],
    ['a truncated zlib body', 'zlib', 'is not valid zlib: unexpected end of file', 'DESERIALIZATION_ERROR'],
    [
      'an unknown schema version',
      'uuid',
      'Glue schema version 00000000-0000-4000-8000-000000000999 is not in the registry',
      'SCHEMA_NOT_FOUND',
    ],
  ])('fails on %s', async (_case, corruption, message, reason) => {
    // Prepare
    const codec = recordedCodec('glue', { glueCompression: corruption === 'zlib' });
    const value = Buffer.from((await codec.encode(placed)).value);
    const corrupt = {
      '02': () => Buffer.concat([Buffer.from([0x02]), value.subarray(1)]),
      short: () => value.subarray(0, 17),
      compression: () => Buffer.concat([Buffer.from([0x03, 0x07]), value.subarray(2)]),
      zlib: () => value.subarray(0, value.length - 6),
      uuid: () => Buffer.concat([glueHeader('00000000-0000-4000-8000-000000000999', false), value.subarray(18)]),
    }[corruption as 'short'];

    // Act
    const error = await codec.decode(corrupt(), ref(TOPICS.ORDERS_RAW)).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(DecodeError);
    expect(error).toMatchObject({ reason, message: expect.stringContaining(message) });
    expect((error as Error).message).toContain('orders.raw-0@7');
  });

  it('fails naming GLUE_REGISTRY_NAME when a Glue-framed record reaches a codec without a Glue registry', async () => {
    const value = (await recordedCodec('glue').encode(placed)).value;
    const confluentOnly = new EventCodec(snapshotSchemaSource(recordedRegistry()));

    await expect(confluentOnly.decode(value, ref(TOPICS.ORDERS_RAW))).rejects.toMatchObject({
      reason: 'SCHEMA_NOT_FOUND',
      message: `record orders.raw-0@7 is Glue-framed (Glue schema version ${ORDERS_RAW_VERSION}) but no Glue registry is configured: set GLUE_REGISTRY_NAME`,
    });
  });

  it('fails naming SCHEMA_REGISTRY_URL when a Confluent-framed record reaches a codec without that registry', async () => {
    const value = (await recordedCodec('confluent').encode(placed)).value;
    const glueOnly = new EventCodec({ glue: glueSnapshotSchemaSource(recordedGlueRegistry()), encodeWith: 'glue' });

    await expect(glueOnly.decode(value, ref(TOPICS.ORDERS_RAW))).rejects.toMatchObject({
      reason: 'SCHEMA_NOT_FOUND',
      message:
        'record orders.raw-0@7 is Confluent-framed (schema id 1) but no Confluent registry is configured: set SCHEMA_REGISTRY_URL',
    });
  });

  it('fails at construction when the encoding format has no registry', () => {
    expect(() => new EventCodec({ confluent: snapshotSchemaSource(recordedRegistry()), encodeWith: 'glue' })).toThrow(
      new ConfigError('cannot encode in the glue wire format without its registry (GLUE_REGISTRY_NAME)'),
    );
  });

  it('looks each schema version up once, and again after a lookup that failed (transient)', async () => {
    // Prepare: a Glue source that fails its first lookup, then answers from the snapshot.
    const snapshot = glueSnapshotSchemaSource(recordedGlueRegistry());
    const lookups: string[] = [];
    const codec = new EventCodec({
      glue: {
        latestSchemaId: (subject) => snapshot.latestSchemaId(subject),
        schemaById: async (id) => {
          lookups.push(id);
          if (lookups.length === 1) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
          return snapshot.schemaById(id);
        },
      },
      encodeWith: 'glue',
    });
    const value = Buffer.concat([glueHeader(ORDERS_RAW_VERSION, false), placedBody()]);

    // Act
    const first = await codec.decode(value, ref(TOPICS.ORDERS_RAW)).catch((e: unknown) => e);
    const second = await codec.decode(value, ref(TOPICS.ORDERS_RAW));
    const third = await codec.decode(value, ref(TOPICS.ORDERS_RAW));

    // Assess
    expect(first).toBeInstanceOf(TransientError);
    expect((first as Error).message).toBe(
      `record orders.raw-0@7: schema registry lookup of Glue schema version ${ORDERS_RAW_VERSION} failed`,
    );
    expect([second, third]).toEqual([placed, placed]);
    expect(lookups).toEqual([ORDERS_RAW_VERSION, ORDERS_RAW_VERSION]);
  });
});
