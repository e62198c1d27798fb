/**
 * Writes the process-payment fixtures: MSK events with real Confluent-framed Avro values, encoded against the
 * recorded registry. Run with `npx tsx events/process-payment/generate.ts`.
 *
 * The card token picks the simulated gateway's answer: tok_visa or none pays, tok_decline is refused, tok_flaky
 * is unavailable on the first attempt and pays on the retry.
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { EventOf, OrderflowEvent } from '../../shared/events.js';
import { derivedId } from '../../shared/ids.js';
import { type MskEvent, toMskEvent } from '../../shared/msk.js';
import { FIXTURE_BOOTSTRAP, mergeMskEvents, mskEventOf, recordedCodec } from '../../shared/testing/fixtures.js';
import { TOPICS } from '../../shared/topology.js';

const OUT = new URL('./', import.meta.url);
const T0 = 1_763_700_000_000;

/** Order ids of the fixtures; tests use the same literals. */
export const ORDER_IDS = {
  visa: '9e8d7c6b-1a2b-4c3d-9e4f-0000000000c1',
  noToken: '9e8d7c6b-1a2b-4c3d-9e4f-0000000000c2',
  declined: '9e8d7c6b-1a2b-4c3d-9e4f-0000000000c3',
  flaky: '9e8d7c6b-1a2b-4c3d-9e4f-0000000000c4',
  refunded: '9e8d7c6b-1a2b-4c3d-9e4f-0000000000c5',
  rejectedFirst: '9e8d7c6b-1a2b-4c3d-9e4f-0000000000c6',
  batchVisa: '9e8d7c6b-1a2b-4c3d-9e4f-0000000000c7',
  batchDeclined: '9e8d7c6b-1a2b-4c3d-9e4f-0000000000c8',
  batchRejected: '9e8d7c6b-1a2b-4c3d-9e4f-0000000000c9',
  poison: '9e8d7c6b-1a2b-4c3d-9e4f-0000000000ca',
} as const;

/** Total of every fixture order: 2 x 1250 + 899 cents. */
export const TOTAL_CENTS = 3399;

function base(orderId: string, type: string, step: number) {
  return {
    eventId: derivedId('fixture', orderId, type),
    orderId,
    occurredAt: T0 + step * 1000,
    correlationId: derivedId('fixture-correlation', orderId),
  };
}

function validated(orderId: string, paymentToken: string | null): EventOf<'OrderValidated'> {
  return {
    type: 'OrderValidated',
    ...base(orderId, 'OrderValidated', 1),
    customerId: 'cust-42',
    email: 'ada.lovelace@example.com',
    currency: 'EUR',
    lines: [
      { sku: 'SKU-RED-MUG', quantity: 2, unitPriceCents: 1250, lineTotalCents: 2500 },
      { sku: 'SKU-TEA-250G', quantity: 1, unitPriceCents: 899, lineTotalCents: 899 },
    ],
    totalCents: TOTAL_CENTS,
    status: 'PENDING',
    validatedAt: T0 + 1000,
    paymentToken,
  };
}

function stockOut(orderId: string): EventOf<'InventoryRejected'> {
  return {
    type: 'InventoryRejected',
    ...base(orderId, 'InventoryRejected', 2),
    reason: 'OUT_OF_STOCK',
    skus: ['SKU-RED-MUG'],
  };
}

/** Every single-invocation fixture: file name -> events, all on one partition. */
function singles(): Record<string, { events: OrderflowEvent[]; partition: number; firstOffset: number }> {
  return {
    'order-validated-visa': { events: [validated(ORDER_IDS.visa, 'tok_visa')], partition: 1, firstOffset: 10 },
    'order-validated-no-token': { events: [validated(ORDER_IDS.noToken, null)], partition: 1, firstOffset: 11 },
    'order-validated-decline': {
      events: [validated(ORDER_IDS.declined, 'tok_decline')],
      partition: 2,
      firstOffset: 20,
    },
    'order-validated-flaky': { events: [validated(ORDER_IDS.flaky, 'tok_flaky')], partition: 2, firstOffset: 21 },
    'refund-order-validated': { events: [validated(ORDER_IDS.refunded, 'tok_visa')], partition: 3, firstOffset: 30 },
    'refund-inventory-rejected': { events: [stockOut(ORDER_IDS.refunded)], partition: 3, firstOffset: 300 },
    'rejected-first-inventory-rejected': {
      events: [stockOut(ORDER_IDS.rejectedFirst)],
      partition: 4,
      firstOffset: 400,
    },
    'rejected-first-order-validated': {
      events: [validated(ORDER_IDS.rejectedFirst, 'tok_visa')],
      partition: 4,
      firstOffset: 40,
    },
  };
}

/** Two orders.validated partitions and an inventory.events partition, with an event type this function ignores. */
async function mixedBatch(): Promise<MskEvent> {
  const codec = recordedCodec();
  const reserved: EventOf<'InventoryReserved'> = {
    type: 'InventoryReserved',
    ...base(ORDER_IDS.batchVisa, 'InventoryReserved', 2),
    lines: [
      { sku: 'SKU-RED-MUG', quantity: 2 },
      { sku: 'SKU-TEA-250G', quantity: 1 },
    ],
  };
  return mergeMskEvents(
    await mskEventOf(codec, [validated(ORDER_IDS.batchVisa, 'tok_visa')], { partition: 1, firstOffset: 50 }),
    await mskEventOf(codec, [validated(ORDER_IDS.batchDeclined, 'tok_decline')], { partition: 5, firstOffset: 51 }),
    await mskEventOf(codec, [reserved, stockOut(ORDER_IDS.batchRejected)], { partition: 1, firstOffset: 500 }),
  );
}

/** One orders.validated partition: bytes that are not Confluent-framed, a tombstone, then a good order. */
async function poisonBatch(): Promise<MskEvent> {
  const good = await recordedCodec().encode(validated(ORDER_IDS.poison, 'tok_visa'));
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

/** Generates every process-payment fixture under `events/process-payment/`. */
export async function generateProcessPaymentFixtures(): Promise<void> {
  const codec = recordedCodec();
  for (const [name, { events, partition, firstOffset }] of Object.entries(singles())) {
    write(name, await mskEventOf(codec, events, { partition, firstOffset }));
  }
  write('mixed-batch', await mixedBatch());
  write('poison', await poisonBatch());
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await generateProcessPaymentFixtures();
}
