/**
 * Writes the validate-order fixtures: orders.raw MSK events with real Confluent- or Glue-framed Avro values, encoded
 * against the recorded registries (`events/registry.json`, `events/glue-registry.json`), and poison records mixed
 * with good ones. Run with
 * `npx tsx events/validate-order/generate.ts`. Deterministic: fixed ids and clocks.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { glueHeader } from '../../shared/codec.js';
import { DecodeError } from '../../shared/errors.js';
import type { EventOf, OrderItem } from '../../shared/events.js';
import { derivedId } from '../../shared/ids.js';
import { type MskEvent, type RawKafkaRecord, toMskEvent } from '../../shared/msk.js';
import { FIXTURE_BOOTSTRAP, mergeMskEvents, mskEventOf, recordedCodec } from '../../shared/testing/fixtures.js';
import { TOPICS } from '../../shared/topology.js';

const OUT = new URL('./', import.meta.url);
const T0 = 1_763_700_000_000;

/** Order ids of the fixtures; the tests import them. */
export const ORDER_IDS = {
  eurMulti: '7c1d2e3f-0a1b-4c2d-8e3f-0000000000b1',
  usdSingle: '7c1d2e3f-0a1b-4c2d-8e3f-0000000000b2',
  gbpNoToken: '7c1d2e3f-0a1b-4c2d-8e3f-0000000000b3',
  eurSameSkuTwice: '7c1d2e3f-0a1b-4c2d-8e3f-0000000000b4',
  usdLarge: '7c1d2e3f-0a1b-4c2d-8e3f-0000000000b5',
  unknownSku: '7c1d2e3f-0a1b-4c2d-8e3f-0000000000b6',
  blocked: '7c1d2e3f-0a1b-4c2d-8e3f-0000000000b7',
  poisonGoodFirst: '7c1d2e3f-0a1b-4c2d-8e3f-0000000000c1',
  poisonGoodMiddle: '7c1d2e3f-0a1b-4c2d-8e3f-0000000000c2',
  poisonGoodLast: '7c1d2e3f-0a1b-4c2d-8e3f-0000000000c3',
  poisonGoodOther: '7c1d2e3f-0a1b-4c2d-8e3f-0000000000c4',
  poisonGoodTail: '7c1d2e3f-0a1b-4c2d-8e3f-0000000000c8',
  zeroQuantity: '7c1d2e3f-0a1b-4c2d-8e3f-0000000000c5',
  badCurrency: '7c1d2e3f-0a1b-4c2d-8e3f-0000000000c6',
  noItems: '7c1d2e3f-0a1b-4c2d-8e3f-0000000000c7',
} as const;

/** The blocked customer the blocked-customer fixture orders for. */
export const BLOCKED_CUSTOMER = 'cust-blocked-13';

/** A SKU the catalog does not know, and one it does not price in GBP. */
export const UNKNOWN_SKUS = ['SKU-DOES-NOT-EXIST', 'SKU-EUR-ONLY'] as const;

/** Offsets of the poison records in `poison-batch.json`, by case; the tests assert the DLQ against them. */
export const POISON = {
  garbage: { partition: 0, offset: 201 },
  unknownSchemaId: { partition: 0, offset: 203 },
  otherSchema: { partition: 0, offset: 204 },
  truncated: { partition: 0, offset: 206 },
  tombstone: { partition: 0, offset: 207 },
  oversized: { partition: 1, offset: 301 },
  zeroQuantity: { partition: 1, offset: 302 },
  badCurrency: { partition: 1, offset: 303 },
  noItems: { partition: 1, offset: 304 },
} as const;

/** Offsets of the Glue-framed poison records in `mixed-batch.json` (partition 0). */
export const GLUE_POISON = {
  unknownVersion: { partition: 0, offset: 405 },
  truncatedZlib: { partition: 0, offset: 406 },
} as const;

/** A schema version id no recorded Glue registry holds. */
export const UNKNOWN_GLUE_VERSION = '00000000-0000-4000-8000-0000000000ff';

/** Size of the oversized poison value: above Kafka's default 1 MB `max.message.bytes`. */
export const OVERSIZED_BYTES = 1_100_000;

/** An OrderPlaced as the order API would produce it; `step` spaces occurredAt. */
export function orderPlaced(
  orderId: string,
  fields: Partial<Omit<EventOf<'OrderPlaced'>, 'type' | 'orderId'>> & { items: readonly OrderItem[] },
  step = 0,
): EventOf<'OrderPlaced'> {
  return {
    type: 'OrderPlaced',
    eventId: derivedId('fixture', orderId, 'OrderPlaced'),
    orderId,
    occurredAt: T0 + step * 1000,
    correlationId: derivedId('fixture-correlation', orderId),
    customerId: 'cust-42',
    email: 'ada.lovelace@example.com',
    currency: 'EUR',
    paymentToken: 'tok_visa',
    ...fields,
  };
}

/** The five good orders of `orders-batch.json`, by partition. */
function batchOrders() {
  const partition0 = [
    orderPlaced(ORDER_IDS.eurMulti, {
      items: [
        { sku: 'SKU-BOOK', quantity: 2 },
        { sku: 'SKU-MUG', quantity: 1 },
      ],
    }),
    orderPlaced(ORDER_IDS.usdSingle, { currency: 'USD', items: [{ sku: 'SKU-TSHIRT', quantity: 3 }] }, 1),
    orderPlaced(
      ORDER_IDS.gbpNoToken,
      { currency: 'GBP', paymentToken: null, items: [{ sku: 'SKU-MUG', quantity: 1 }] },
      2,
    ),
  ];
  const partition1 = [
    orderPlaced(
      ORDER_IDS.eurSameSkuTwice,
      {
        customerId: 'cust-7',
        email: 'grace.hopper@example.com',
        items: [
          { sku: 'SKU-STICKERS', quantity: 1 },
          { sku: 'SKU-STICKERS', quantity: 4 },
        ],
      },
      3,
    ),
    orderPlaced(ORDER_IDS.usdLarge, { currency: 'USD', items: [{ sku: 'SKU-BOOK', quantity: 1000 }] }, 4),
  ];
  return { partition0, partition1 };
}

/** Five good orders over partitions 0 and 1: several currencies, a null payment token, a SKU on two lines. */
async function ordersBatch(): Promise<MskEvent> {
  const codec = recordedCodec();
  const { partition0, partition1 } = batchOrders();
  return mergeMskEvents(
    await mskEventOf(codec, partition0, { partition: 0, firstOffset: 10 }),
    await mskEventOf(codec, partition1, { partition: 1, firstOffset: 20 }),
  );
}

/** One SKU the catalog never heard of, one it sells but not in GBP. */
async function unknownSku(): Promise<MskEvent> {
  const order = orderPlaced(ORDER_IDS.unknownSku, {
    currency: 'GBP',
    items: [
      { sku: 'SKU-MUG', quantity: 1 },
      { sku: UNKNOWN_SKUS[0], quantity: 1 },
      { sku: UNKNOWN_SKUS[1], quantity: 2 },
    ],
  });
  return mskEventOf(recordedCodec(), [order], { partition: 2, firstOffset: 30 });
}

/** A blocked customer ordering an unknown SKU: blocked wins. */
async function blockedCustomer(): Promise<MskEvent> {
  const order = orderPlaced(ORDER_IDS.blocked, {
    customerId: BLOCKED_CUSTOMER,
    items: [
      { sku: 'SKU-BOOK', quantity: 1 },
      { sku: UNKNOWN_SKUS[0], quantity: 1 },
    ],
  });
  return mskEventOf(recordedCodec(), [order], { partition: 3, firstOffset: 40 });
}

/**
 * Poison records between good ones. Partition 0: good, garbage bytes, good, unknown schema id, a PaymentProcessed
 * body framed as orders.raw, good, truncated body, tombstone, good. Partition 1: oversized garbage, then three
 * well-formed orders whose content is invalid, then a good one.
 */
async function poisonBatch(): Promise<MskEvent> {
  const codec = recordedCodec();
  const good = (orderId: string, step: number) =>
    codec.encode(orderPlaced(orderId, { items: [{ sku: 'SKU-BOOK', quantity: 1 }] }, step));
  const first = await good(ORDER_IDS.poisonGoodFirst, 0);
  const middle = await good(ORDER_IDS.poisonGoodMiddle, 1);
  const last = await good(ORDER_IDS.poisonGoodLast, 2);
  const other = await good(ORDER_IDS.poisonGoodOther, 3);
  const tail = await good(ORDER_IDS.poisonGoodTail, 4);
  const payment = await codec.encode({
    type: 'PaymentProcessed',
    eventId: derivedId('fixture', 'poison', 'PaymentProcessed'),
    orderId: ORDER_IDS.poisonGoodMiddle,
    occurredAt: T0,
    correlationId: derivedId('fixture-correlation', 'poison'),
    paymentId: derivedId('fixture-payment', 'poison'),
    amountCents: 4299,
    currency: 'EUR',
  });
  const ordersRawId = first.value.readUInt32BE(1);
  const frame = (schemaId: number, body: Buffer) => {
    const header = Buffer.alloc(5);
    header.writeUInt32BE(schemaId, 1);
    return Buffer.concat([header, body]);
  };
  const invalid = async (orderId: string, fields: Parameters<typeof orderPlaced>[1]) =>
    (await codec.encode(orderPlaced(orderId, fields))).value;

  const key = (orderId: string) => Buffer.from(orderId, 'utf8');
  const poisonHeaders = { 'event-type': 'OrderPlaced', 'correlation-id': 'poison' };
  const record = (
    where: { partition: number; offset: number },
    k: Buffer | null,
    value: Buffer | null,
    headers: Record<string, string> = poisonHeaders,
  ): RawKafkaRecord => ({ topic: TOPICS.ORDERS_RAW, ...where, timestamp: T0, key: k, value, headers });

  const records: RawKafkaRecord[] = [
    record({ partition: 0, offset: 200 }, first.key, first.value, first.headers),
    record(POISON.garbage, key('garbage'), Buffer.from('{"orderId":"not-avro","items":[]}', 'utf8')),
    record({ partition: 0, offset: 202 }, middle.key, middle.value, middle.headers),
    record(POISON.unknownSchemaId, key('unknown-schema'), frame(999, first.value.subarray(5))),
    record(POISON.otherSchema, payment.key, frame(ordersRawId, payment.value.subarray(5))),
    record({ partition: 0, offset: 205 }, last.key, last.value, last.headers),
    record(POISON.truncated, key('truncated'), last.value.subarray(0, last.value.length - 40)),
    record(POISON.tombstone, key('tombstone'), null),
    record({ partition: 0, offset: 208 }, other.key, other.value, other.headers),
    record(POISON.oversized, null, Buffer.alloc(OVERSIZED_BYTES, 'orderflow-garbage;')),
    record(
      POISON.zeroQuantity,
      key(ORDER_IDS.zeroQuantity),
      await invalid(ORDER_IDS.zeroQuantity, { items: [{ sku: 'SKU-BOOK', quantity: 0 }] }),
    ),
    record(
      POISON.badCurrency,
      key(ORDER_IDS.badCurrency),
      await invalid(ORDER_IDS.badCurrency, { currency: 'JPY', items: [{ sku: 'SKU-BOOK', quantity: 1 }] }),
    ),
    record(POISON.noItems, key(ORDER_IDS.noItems), await invalid(ORDER_IDS.noItems, { items: [] })),
    record({ partition: 1, offset: 305 }, tail.key, tail.value, tail.headers),
  ];
  await assertUndecodable(records.filter((r) => isDecodePoison(r)));
  return toMskEvent(records, { bootstrapServers: FIXTURE_BOOTSTRAP });
}

function isDecodePoison(r: RawKafkaRecord): boolean {
  return [
    POISON.garbage,
    POISON.unknownSchemaId,
    POISON.otherSchema,
    POISON.truncated,
    POISON.tombstone,
    POISON.oversized,
  ].some((p) => p.partition === r.partition && p.offset === Number(r.offset));
}

/** Guards the fixtures: a "poison" value that happened to decode would test nothing. */
async function assertUndecodable(records: readonly RawKafkaRecord[]): Promise<void> {
  const codec = recordedCodec();
  for (const r of records) {
    const ref = { topic: r.topic, partition: r.partition, offset: String(r.offset) };
    const decoded = await codec.decode(r.value, ref).then(
      () => true,
      (error: unknown) => !(error instanceof DecodeError),
    );
    if (decoded) throw new Error(`poison record ${r.partition}@${r.offset} decodes; change the fixture`);
  }
}

/**
 * The orders of `orders-batch.json` as a producer on AWS Glue Schema Registry writes them: partition 0
 * uncompressed (compression byte 0, AWS's serde default), partition 1 zlib-compressed (byte 5).
 */
async function glueBatch(): Promise<MskEvent> {
  const { partition0, partition1 } = batchOrders();
  return mergeMskEvents(
    await mskEventOf(recordedCodec('glue'), partition0, { partition: 0, firstOffset: 10 }),
    await mskEventOf(recordedCodec('glue', { glueCompression: true }), partition1, { partition: 1, firstOffset: 20 }),
  );
}

/**
 * A partition in the middle of a migration between registries: the five orders of `orders-batch.json` written
 * alternately Confluent-, Glue- and zlib-Glue-framed, then a Glue record of an unknown schema version and a
 * Glue record whose zlib body is cut short, then a good Confluent record.
 */
async function mixedBatch(): Promise<MskEvent> {
  const { partition0, partition1 } = batchOrders();
  const confluent = recordedCodec('confluent');
  const glue = recordedCodec('glue');
  const zlib = recordedCodec('glue', { glueCompression: true });
  const writers = [confluent, glue, zlib] as const;
  const records: RawKafkaRecord[] = [];
  const add = (offset: number, encoded: { key: Buffer; value: Buffer; headers: Record<string, string> }) =>
    records.push({ topic: TOPICS.ORDERS_RAW, partition: 0, offset, timestamp: T0, ...encoded });
  for (const [i, order] of [...partition0, ...partition1].entries()) {
    add(400 + i, await writers[(i % writers.length) as 0 | 1 | 2].encode(order));
  }
  const book = (orderId: string) => orderPlaced(orderId, { items: [{ sku: 'SKU-BOOK', quantity: 1 }] });
  const plain = await glue.encode(book(ORDER_IDS.poisonGoodFirst));
  const deflated = await zlib.encode(book(ORDER_IDS.poisonGoodMiddle));
  const poisonHeaders = { 'event-type': 'OrderPlaced', 'correlation-id': 'poison' };
  add(GLUE_POISON.unknownVersion.offset, {
    key: Buffer.from('unknown-glue-version', 'utf8'),
    value: Buffer.concat([glueHeader(UNKNOWN_GLUE_VERSION, false), plain.value.subarray(18)]),
    headers: poisonHeaders,
  });
  add(GLUE_POISON.truncatedZlib.offset, {
    key: Buffer.from('truncated-zlib', 'utf8'),
    value: deflated.value.subarray(0, deflated.value.length - 8),
    headers: poisonHeaders,
  });
  add(407, await confluent.encode(book(ORDER_IDS.poisonGoodTail)));
  const poison: number[] = [GLUE_POISON.unknownVersion.offset, GLUE_POISON.truncatedZlib.offset];
  await assertUndecodable(records.filter((r) => poison.includes(Number(r.offset))));
  return toMskEvent(records, { bootstrapServers: FIXTURE_BOOTSTRAP });
}

/** Every validate-order fixture by file name, as `generateValidateOrderFixtures` writes it. */
export async function validateOrderFixtures(): Promise<Record<string, MskEvent>> {
  return {
    'orders-batch.json': await ordersBatch(),
    'unknown-sku.json': await unknownSku(),
    'blocked-customer.json': await blockedCustomer(),
    'poison-batch.json': await poisonBatch(),
    'glue-batch.json': await glueBatch(),
    'mixed-batch.json': await mixedBatch(),
  };
}

/** A fixture file's text: what the staleness test compares byte for byte. */
export function fixtureText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Generates every validate-order fixture under `events/validate-order/`. */
export async function generateValidateOrderFixtures(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  for (const [name, value] of Object.entries(await validateOrderFixtures())) {
    writeFileSync(new URL(name, OUT), fixtureText(value));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await generateValidateOrderFixtures();
}
