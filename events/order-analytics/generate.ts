/**
 * Writes the order-analytics fixtures: orders.validated MSK events with real Confluent-framed Avro values,
 * encoded against the recorded registry. Run with `npx tsx events/order-analytics/generate.ts`. Deterministic.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { EventOf, PricedLine } from '../../shared/events.js';
import { derivedId } from '../../shared/ids.js';
import type { MskEvent } from '../../shared/msk.js';
import { mergeMskEvents, mskEventOf, recordedCodec } from '../../shared/testing/fixtures.js';

const OUT = new URL('./', import.meta.url);

/** Order ids of the fixtures; the tests import them. */
export const ORDER_IDS = {
  eurEarly: '9e4f5a6b-1c2d-4e3f-8a4b-0000000000d1',
  eurLate: '9e4f5a6b-1c2d-4e3f-8a4b-0000000000d2',
  rejected: '9e4f5a6b-1c2d-4e3f-8a4b-0000000000d3',
  gbp: '9e4f5a6b-1c2d-4e3f-8a4b-0000000000d4',
  usdNextMinute: '9e4f5a6b-1c2d-4e3f-8a4b-0000000000d5',
  badCurrency: '9e4f5a6b-1c2d-4e3f-8a4b-0000000000d6',
  afterBad: '9e4f5a6b-1c2d-4e3f-8a4b-0000000000d7',
} as const;

/** When each order was validated; the Kafka timestamps are hours later, as in a replay. */
export const VALIDATED_AT = {
  eurEarly: Date.parse('2025-11-21T04:40:05.000Z'),
  eurLate: Date.parse('2025-11-21T04:40:59.999Z'),
  gbp: Date.parse('2025-11-21T04:40:30.000Z'),
  usdNextMinute: Date.parse('2025-11-21T04:41:00.000Z'),
} as const;

const REPLAYED_AT = Date.parse('2025-11-21T09:00:00.000Z');

function line(sku: string, quantity: number, unitPriceCents: number): PricedLine {
  return { sku, quantity, unitPriceCents, lineTotalCents: quantity * unitPriceCents };
}

/** An OrderValidated as validate-order would produce it. */
export function orderValidated(
  orderId: string,
  validatedAt: number,
  currency: string,
  lines: readonly PricedLine[],
): EventOf<'OrderValidated'> {
  return {
    type: 'OrderValidated',
    eventId: derivedId('fixture', orderId, 'OrderValidated'),
    orderId,
    occurredAt: validatedAt,
    correlationId: derivedId('fixture-correlation', orderId),
    customerId: 'cust-42',
    email: 'ada.lovelace@example.com',
    currency,
    lines,
    totalCents: lines.reduce((sum, l) => sum + l.lineTotalCents, 0),
    status: 'PENDING',
    validatedAt,
    paymentToken: 'tok_visa',
  };
}

/** Partition 0: two EUR orders in one minute and an OrderRejected; partition 1: GBP, then USD a minute later. */
async function validatedBatch(): Promise<MskEvent> {
  const codec = recordedCodec();
  const rejected: EventOf<'OrderRejected'> = {
    type: 'OrderRejected',
    eventId: derivedId('fixture', ORDER_IDS.rejected, 'OrderRejected'),
    orderId: ORDER_IDS.rejected,
    occurredAt: VALIDATED_AT.eurEarly + 10_000,
    correlationId: derivedId('fixture-correlation', ORDER_IDS.rejected),
    customerId: 'cust-42',
    email: 'ada.lovelace@example.com',
    reason: 'UNKNOWN_SKU',
    detail: 'unknown SKU in EUR: SKU-DOES-NOT-EXIST',
  };
  const partition0 = [
    orderValidated(ORDER_IDS.eurEarly, VALIDATED_AT.eurEarly, 'EUR', [
      line('SKU-BOOK', 2, 4299),
      line('SKU-MUG', 1, 1299),
    ]),
    rejected,
    orderValidated(ORDER_IDS.eurLate, VALIDATED_AT.eurLate, 'EUR', [line('SKU-STICKERS', 5, 499)]),
  ];
  const partition1 = [
    orderValidated(ORDER_IDS.gbp, VALIDATED_AT.gbp, 'GBP', [line('SKU-MUG', 1, 1099)]),
    orderValidated(ORDER_IDS.usdNextMinute, VALIDATED_AT.usdNextMinute, 'USD', [line('SKU-TSHIRT', 3, 2699)]),
  ];
  return mergeMskEvents(
    await mskEventOf(codec, partition0, { partition: 0, firstOffset: 500, timestamp: REPLAYED_AT }),
    await mskEventOf(codec, partition1, { partition: 1, firstOffset: 700, timestamp: REPLAYED_AT }),
  );
}

/** An OrderValidated in a currency orderflow does not take, then a good order in the same partition. */
async function invalidCurrency(): Promise<MskEvent> {
  const events = [
    orderValidated(ORDER_IDS.badCurrency, VALIDATED_AT.eurEarly, 'JPY', [line('SKU-BOOK', 1, 4299)]),
    orderValidated(ORDER_IDS.afterBad, VALIDATED_AT.eurEarly, 'EUR', [line('SKU-BOOK', 1, 4299)]),
  ];
  return mskEventOf(recordedCodec(), events, { partition: 4, firstOffset: 900, timestamp: REPLAYED_AT });
}

function write(name: string, value: unknown): void {
  mkdirSync(OUT, { recursive: true });
  writeFileSync(new URL(name, OUT), `${JSON.stringify(value, null, 2)}\n`);
}

/** Generates every order-analytics fixture under `events/order-analytics/`. */
export async function generateOrderAnalyticsFixtures(): Promise<void> {
  write('validated-batch.json', await validatedBatch());
  write('invalid-currency.json', await invalidCurrency());
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await generateOrderAnalyticsFixtures();
}
