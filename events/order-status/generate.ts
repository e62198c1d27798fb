/**
 * Writes the order-status fixtures: MSK events with real Confluent-framed Avro values, encoded against the
 * recorded registry. Run with `npx tsx events/order-status/generate.ts`.
 *
 * A scenario is a folder of numbered files, one Lambda invocation each, in delivery order: order-status
 * consumes four topics, so the order it sees an order's events in is the order the partitions are polled in.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { EventOf, OrderflowEvent } from '../../shared/events.js';
import { derivedId } from '../../shared/ids.js';
import { type MskEvent, toMskEvent } from '../../shared/msk.js';
import { FIXTURE_BOOTSTRAP, mergeMskEvents, mskEventOf, recordedCodec } from '../../shared/testing/fixtures.js';
import { TOPICS } from '../../shared/topology.js';

const OUT = new URL('./', import.meta.url);
const T0 = 1_763_700_000_000;
/** Orders are keyed by orderId and every topic has 6 partitions, so an order's events share a partition number. */
const PARTITION = 2;

/** Order ids of the scenarios; tests use the same literals. */
export const ORDER_IDS = {
  happy: '5b0e7c2a-4f1d-4c3e-9a61-0000000000a1',
  paymentFirst: '5b0e7c2a-4f1d-4c3e-9a61-0000000000a2',
  stockOutFirst: '5b0e7c2a-4f1d-4c3e-9a61-0000000000a3',
  declined: '5b0e7c2a-4f1d-4c3e-9a61-0000000000a4',
  rejected: '5b0e7c2a-4f1d-4c3e-9a61-0000000000a5',
  poison: '5b0e7c2a-4f1d-4c3e-9a61-0000000000a6',
} as const;

const ITEMS = [
  { sku: 'SKU-RED-MUG', quantity: 2 },
  { sku: 'SKU-TEA-250G', quantity: 1 },
];
const LINES = [
  { sku: 'SKU-RED-MUG', quantity: 2, unitPriceCents: 1250, lineTotalCents: 2500 },
  { sku: 'SKU-TEA-250G', quantity: 1, unitPriceCents: 899, lineTotalCents: 899 },
];
const TOTAL_CENTS = 3399;

/** The events of one order, built with its id; `step` orders occurredAt in business order. */
function lifecycle(orderId: string) {
  const base = (type: string, step: number) => ({
    eventId: derivedId('fixture', orderId, type),
    orderId,
    occurredAt: T0 + step * 1000,
    correlationId: derivedId('fixture-correlation', orderId),
  });
  const customer = { customerId: 'cust-42', email: 'ada.lovelace@example.com' };
  return {
    placed: {
      type: 'OrderPlaced',
      ...base('OrderPlaced', 0),
      ...customer,
      currency: 'EUR',
      items: ITEMS,
      paymentToken: 'tok_visa',
    } satisfies EventOf<'OrderPlaced'>,
    validated: {
      type: 'OrderValidated',
      ...base('OrderValidated', 1),
      ...customer,
      currency: 'EUR',
      lines: LINES,
      totalCents: TOTAL_CENTS,
      status: 'PENDING',
      validatedAt: T0 + 1000,
      paymentToken: 'tok_visa',
    } satisfies EventOf<'OrderValidated'>,
    rejected: {
      type: 'OrderRejected',
      ...base('OrderRejected', 1),
      ...customer,
      reason: 'UNKNOWN_SKU',
      detail: 'unknown SKU: SKU-TEA-250G',
    } satisfies EventOf<'OrderRejected'>,
    reserved: {
      type: 'InventoryReserved',
      ...base('InventoryReserved', 2),
      lines: ITEMS,
    } satisfies EventOf<'InventoryReserved'>,
    stockOut: {
      type: 'InventoryRejected',
      ...base('InventoryRejected', 2),
      reason: 'OUT_OF_STOCK',
      skus: ['SKU-RED-MUG'],
    } satisfies EventOf<'InventoryRejected'>,
    paid: {
      type: 'PaymentProcessed',
      ...base('PaymentProcessed', 3),
      paymentId: derivedId('fixture-payment', orderId),
      amountCents: TOTAL_CENTS,
      currency: 'EUR',
    } satisfies EventOf<'PaymentProcessed'>,
    declined: {
      type: 'PaymentFailed',
      ...base('PaymentFailed', 3),
      amountCents: TOTAL_CENTS,
      currency: 'EUR',
      reason: 'PAYMENT_DECLINED',
    } satisfies EventOf<'PaymentFailed'>,
    released: {
      type: 'InventoryReleased',
      ...base('InventoryReleased', 4),
      lines: ITEMS,
      reason: 'PAYMENT_DECLINED',
    } satisfies EventOf<'InventoryReleased'>,
    refunded: {
      type: 'PaymentRefunded',
      ...base('PaymentRefunded', 4),
      paymentId: derivedId('fixture-payment', orderId),
      amountCents: TOTAL_CENTS,
      currency: 'EUR',
      reason: 'OUT_OF_STOCK',
    } satisfies EventOf<'PaymentRefunded'>,
  };
}

const FILE_NAMES: Record<OrderflowEvent['type'], string> = {
  OrderPlaced: 'order-placed',
  OrderValidated: 'order-validated',
  OrderRejected: 'order-rejected',
  InventoryReserved: 'inventory-reserved',
  InventoryRejected: 'inventory-rejected',
  InventoryReleased: 'inventory-released',
  PaymentProcessed: 'payment-processed',
  PaymentFailed: 'payment-failed',
  PaymentRefunded: 'payment-refunded',
};

/** Every scenario as the deliveries order-status sees, in order. */
function scenarios(): Record<string, OrderflowEvent[]> {
  const happy = lifecycle(ORDER_IDS.happy);
  const paymentFirst = lifecycle(ORDER_IDS.paymentFirst);
  const stockOutFirst = lifecycle(ORDER_IDS.stockOutFirst);
  const declined = lifecycle(ORDER_IDS.declined);
  const rejected = lifecycle(ORDER_IDS.rejected);
  return {
    'happy-path': [happy.placed, happy.validated, happy.reserved, happy.paid],
    'payment-before-validation': [
      paymentFirst.placed,
      paymentFirst.reserved,
      paymentFirst.paid,
      paymentFirst.validated,
    ],
    // Payment ran in parallel with the stock check and was refunded; its success arrives after the cancellation.
    'stock-out-before-placed': [
      stockOutFirst.stockOut,
      stockOutFirst.placed,
      stockOutFirst.validated,
      stockOutFirst.paid,
      stockOutFirst.refunded,
    ],
    'payment-declined': [declined.placed, declined.validated, declined.reserved, declined.declined, declined.released],
    rejected: [rejected.placed, rejected.rejected],
  };
}

function write(path: string, value: unknown): void {
  const url = new URL(path, OUT);
  mkdirSync(new URL('./', url), { recursive: true });
  writeFileSync(url, `${JSON.stringify(value, null, 2)}\n`);
}

/** Generates every order-status fixture under `events/order-status/`. */
export async function generateOrderStatusFixtures(): Promise<void> {
  const codec = recordedCodec();
  for (const [name, events] of Object.entries(scenarios())) {
    rmSync(new URL(`${name}/`, OUT), { recursive: true, force: true });
    const offsets = new Map<string, number>();
    const invocations: MskEvent[] = [];
    for (const [i, event] of events.entries()) {
      const topic = (await codec.encode(event)).topic;
      const offset = offsets.get(topic) ?? 100;
      offsets.set(topic, offset + 1);
      const invocation = await mskEventOf(codec, [event], { partition: PARTITION, firstOffset: offset });
      invocations.push(invocation);
      write(`${name}/${i + 1}-${FILE_NAMES[event.type]}.json`, invocation);
    }
    // The same deliveries as one batch: Lambda orders a batch by topic-partition, not by occurredAt.
    write(`${name}-batch.json`, mergeMskEvents(...invocations));
  }
  write('poison.json', await poisonBatch());
}

/** One orders.raw partition: bytes that are not Confluent-framed, an unknown schema id, a tombstone, then a good order. */
async function poisonBatch(): Promise<MskEvent> {
  const codec = recordedCodec();
  const good = await codec.encode(lifecycle(ORDER_IDS.poison).placed);
  const unknownSchema = Buffer.concat([Buffer.from([0, 0, 0, 3, 231]), good.value.subarray(5)]);
  const headers = { 'event-type': 'OrderPlaced', 'correlation-id': 'poison' };
  const key = Buffer.from(ORDER_IDS.poison);
  const record = (offset: number, value: Buffer | null) => ({
    topic: TOPICS.ORDERS_RAW,
    partition: 0,
    offset,
    timestamp: T0,
    key,
    value,
    headers,
  });
  return toMskEvent(
    [
      record(40, Buffer.from('{"orderId":"not-avro"}')),
      record(41, unknownSchema),
      record(42, null),
      { ...record(43, good.value), headers: good.headers },
    ],
    { bootstrapServers: FIXTURE_BOOTSTRAP },
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await generateOrderStatusFixtures();
}
