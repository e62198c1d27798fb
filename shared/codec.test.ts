import { describe, expect, it } from '@jest/globals';
import avro from 'avsc';
import { HEADERS } from './codec.js';
import { DecodeError } from './errors.js';
import type { EventOf } from './events.js';
import { EVENT_SCHEMAS } from './schemas.generated.js';
import { recordedCodec } from './testing/fixtures.js';
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
      message: expect.stringContaining('not Confluent-framed'),
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
