/**
 * Writes the reserve-inventory fixtures: MSK events with real Confluent-framed Avro values, encoded against the
 * recorded registry. Run with `npx tsx events/reserve-inventory/generate.ts`.
 *
 * Stock the tests seed: SKU-RED-MUG 10, SKU-TEA-250G 5; SKU-GONE has no row at all.
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { EventOf, OrderflowEvent, PricedLine } from '../../shared/events.js';
import { derivedId } from '../../shared/ids.js';
import { type MskEvent, toMskEvent } from '../../shared/msk.js';
import { FIXTURE_BOOTSTRAP, mergeMskEvents, mskEventOf, recordedCodec } from '../../shared/testing/fixtures.js';
import { TOPICS } from '../../shared/topology.js';

const OUT = new URL('./', import.meta.url);
const T0 = 1_763_700_000_000;

/** Order ids of the fixtures; tests use the same literals. */
export const ORDER_IDS = {
  reserved: '7c1d2e3f-5a6b-4c7d-8e9f-0000000000b1',
  outOfStock: '7c1d2e3f-5a6b-4c7d-8e9f-0000000000b2',
  released: '7c1d2e3f-5a6b-4c7d-8e9f-0000000000b3',
  failedFirst: '7c1d2e3f-5a6b-4c7d-8e9f-0000000000b4',
  duplicateSkus: '7c1d2e3f-5a6b-4c7d-8e9f-0000000000b5',
  batchValidated: '7c1d2e3f-5a6b-4c7d-8e9f-0000000000b6',
  batchRejected: '7c1d2e3f-5a6b-4c7d-8e9f-0000000000b7',
  batchFailed: '7c1d2e3f-5a6b-4c7d-8e9f-0000000000b8',
  poison: '7c1d2e3f-5a6b-4c7d-8e9f-0000000000b9',
} as const;

const line = (sku: string, quantity: number, unitPriceCents: number): PricedLine => ({
  sku,
  quantity,
  unitPriceCents,
  lineTotalCents: quantity * unitPriceCents,
});

const MUG_AND_TEA = [line('SKU-RED-MUG', 2, 1250), line('SKU-TEA-250G', 1, 899)];

function base(orderId: string, type: string, step: number) {
  return {
    eventId: derivedId('fixture', orderId, type),
    orderId,
    occurredAt: T0 + step * 1000,
    correlationId: derivedId('fixture-correlation', orderId),
  };
}

function validated(orderId: string, lines: readonly PricedLine[] = MUG_AND_TEA): EventOf<'OrderValidated'> {
  return {
    type: 'OrderValidated',
    ...base(orderId, 'OrderValidated', 1),
    customerId: 'cust-42',
    email: 'ada.lovelace@example.com',
    currency: 'EUR',
    lines,
    totalCents: lines.reduce((sum, l) => sum + l.lineTotalCents, 0),
    status: 'PENDING',
    validatedAt: T0 + 1000,
    paymentToken: 'tok_visa',
  };
}

function paymentFailed(orderId: string): EventOf<'PaymentFailed'> {
  return {
    type: 'PaymentFailed',
    ...base(orderId, 'PaymentFailed', 2),
    amountCents: 3399,
    currency: 'EUR',
    reason: 'PAYMENT_DECLINED',
  };
}

/** Every single-invocation fixture: file name -> events, all on one partition. */
function singles(): Record<string, { events: OrderflowEvent[]; partition: number; firstOffset: number }> {
  return {
    'order-validated': { events: [validated(ORDER_IDS.reserved)], partition: 1, firstOffset: 10 },
    'order-validated-duplicate-skus': {
      events: [
        validated(ORDER_IDS.duplicateSkus, [
          line('SKU-RED-MUG', 1, 1250),
          line('SKU-TEA-250G', 1, 899),
          line('SKU-RED-MUG', 3, 1250),
        ]),
      ],
      partition: 1,
      firstOffset: 11,
    },
    // More mugs than there are, and a SKU with no stock row: neither may be taken, nor the tea.
    'order-validated-out-of-stock': {
      events: [
        validated(ORDER_IDS.outOfStock, [
          line('SKU-RED-MUG', 500, 1250),
          line('SKU-TEA-250G', 1, 899),
          line('SKU-GONE', 1, 999),
        ]),
      ],
      partition: 2,
      firstOffset: 20,
    },
    'release-order-validated': { events: [validated(ORDER_IDS.released)], partition: 3, firstOffset: 30 },
    'release-payment-failed': { events: [paymentFailed(ORDER_IDS.released)], partition: 3, firstOffset: 300 },
    'failed-first-payment-failed': { events: [paymentFailed(ORDER_IDS.failedFirst)], partition: 4, firstOffset: 400 },
    'failed-first-order-validated': { events: [validated(ORDER_IDS.failedFirst)], partition: 4, firstOffset: 40 },
  };
}

/** Two orders.validated partitions and a payment.events partition, with event types this function ignores. */
async function mixedBatch(): Promise<MskEvent> {
  const codec = recordedCodec();
  const rejected: EventOf<'OrderRejected'> = {
    type: 'OrderRejected',
    ...base(ORDER_IDS.batchRejected, 'OrderRejected', 1),
    customerId: 'cust-7',
    email: 'grace.hopper@example.com',
    reason: 'UNKNOWN_SKU',
    detail: 'unknown SKU: SKU-NOPE',
  };
  const processed: EventOf<'PaymentProcessed'> = {
    type: 'PaymentProcessed',
    ...base(ORDER_IDS.batchValidated, 'PaymentProcessed', 2),
    paymentId: derivedId('fixture-payment', ORDER_IDS.batchValidated),
    amountCents: 3399,
    currency: 'EUR',
  };
  return mergeMskEvents(
    await mskEventOf(codec, [validated(ORDER_IDS.batchValidated)], { partition: 1, firstOffset: 50 }),
    await mskEventOf(codec, [rejected], { partition: 5, firstOffset: 51 }),
    await mskEventOf(codec, [processed, paymentFailed(ORDER_IDS.batchFailed)], { partition: 4, firstOffset: 500 }),
  );
}

/** One orders.validated partition: bytes that are not Confluent-framed, a tombstone, then a good order. */
async function poisonBatch(): Promise<MskEvent> {
  const good = await recordedCodec().encode(validated(ORDER_IDS.poison));
  const record = (offset: number, value: Buffer | null) => ({
    topic: TOPICS.ORDERS_VALIDATED,
    partition: 0,
    offset,
    timestamp: T0,
    key: Buffer.from(ORDER_IDS.poison),
    value,
    headers: good.headers,
  });
  return toMskEvent([record(60, Buffer.from('{"orderId":"not-avro"}')), record(61, null), record(62, good.value)], {
    bootstrapServers: FIXTURE_BOOTSTRAP,
  });
}

function write(name: string, value: unknown): void {
  writeFileSync(new URL(`${name}.json`, OUT), `${JSON.stringify(value, null, 2)}\n`);
}

/** Generates every reserve-inventory fixture under `events/reserve-inventory/`. */
export async function generateReserveInventoryFixtures(): Promise<void> {
  const codec = recordedCodec();
  for (const [name, { events, partition, firstOffset }] of Object.entries(singles())) {
    write(name, await mskEventOf(codec, events, { partition, firstOffset }));
  }
  write('mixed-batch', await mixedBatch());
  write('poison', await poisonBatch());
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await generateReserveInventoryFixtures();
}
