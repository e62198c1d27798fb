/**
 * Correctness under load on the local stack: 2,000 records with the simulate mix (good=85, decline=5, oos=4,
 * unknown=2, flaky=2, poison=2) produced to orders.raw at 200 records/s while the whole pipeline runs in this
 * process. Every order must end in the status its kind implies, stock must move by exactly the confirmed
 * quantities, each confirmed order must be charged once and no cancelled one stay charged, each final transition
 * must send one email, and every poison record must be dead-lettered. No timing is asserted: the timeouts only
 * bound the wait. Needs `npm run stack:up`.
 *
 * The orders are produced straight to Kafka, as `npm run simulate` does, not POSTed: what is under test is what
 * the consumers do with a burst, and producing lets the test know every orderId up front. Over HTTP a request
 * that times out under load may still have produced its order, whose id the test would never learn, so "every
 * order ends" could not be checked exactly; the HTTP path under load is what `npm run bench -- --load` measures.
 */

import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Admin, Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import type { EventOf } from '../../shared/events.js';
import { localTableName, TABLES } from '../../shared/tables.js';
import { CONSUMERS, TOPICS } from '../../shared/topology.js';
import { localCodec } from '../stack/codec.js';
import { requireRunningStack } from '../stack/preflight.js';
import { type ConsumedRecord, type TailConsumer, tailTopics } from '../stack/testing.js';
import {
  type AuditReport,
  collectEmails,
  type EmailCollector,
  type FinalStatus,
  type PaymentRow,
  type PlacedOrder,
  readAndAudit,
  readStock,
  trackFinalStatuses,
} from '../tools/audit.js';
import { type Kind, parseMix, pickKind } from '../tools/simulate.js';
import { applyFunctionEnv, type Pipeline, startPipeline } from './pipeline.js';

const RUN = randomUUID().slice(0, 8);
const RECORDS = 2_000;
/** No order finished for this long: the pipeline is stuck, not slow. */
const STALL_MS = 90_000;
/** The longest the drain may take on a slow or busy machine (about 13 orders/s drains it in under 3 minutes). */
const MAX_DRAIN_MS = 15 * 60_000;
const RATE = 200;
const MIX = parseMix('good=85,decline=5,oos=4,unknown=2,flaky=2,poison=2');
const STOCK = 10_000;
const IN_STOCK = [0, 1, 2, 3].map((i) => `SKU-LOAD-${i}-${RUN}`);
const GONE = `SKU-LOAD-GONE-${RUN}`;
const CURRENCIES = ['EUR', 'USD', 'GBP'] as const;
const PRICES = new Map(
  [...IN_STOCK, GONE].map((sku, i) => [sku, { EUR: 1_000 + i * 100, USD: 1_100 + i * 100, GBP: 900 + i * 100 }]),
);

/** The status each kind of order must end in. */
const EXPECTED: Record<Exclude<Kind, 'poison'>, { status: FinalStatus; reason?: string }> = {
  good: { status: 'CONFIRMED' },
  flaky: { status: 'CONFIRMED' },
  decline: { status: 'CANCELLED', reason: 'PAYMENT_DECLINED' },
  oos: { status: 'CANCELLED', reason: 'OUT_OF_STOCK' },
  unknown: { status: 'REJECTED', reason: 'UNKNOWN_SKU' },
};
const TOKENS: Record<Exclude<Kind, 'poison'>, string> = {
  good: 'tok_visa',
  flaky: 'tok_flaky',
  decline: 'tok_decline',
  oos: 'tok_visa',
  unknown: 'tok_visa',
};

interface TestOrder extends PlacedOrder {
  readonly kind: Kind;
  readonly currency: (typeof CURRENCIES)[number];
}

let pipeline: Pipeline | undefined;
let producer: Producer | undefined;
let dlqTail: TailConsumer | undefined;
let emails: EmailCollector | undefined;
const orders: TestOrder[] = [];
let report: AuditReport;
let payments: Map<string, PaymentRow>;
let stockAfter: Map<string, number>;
let letters: ConsumedRecord[] = [];

/** The i-th record: kinds in the mix's proportions, spread evenly (golden-ratio sequence), so every run is alike. */
function orderAt(i: number): TestOrder {
  const kind = pickKind(MIX, (i * 0.618_033_988_75) % 1);
  const orderId = randomUUID();
  const currency = CURRENCIES[i % CURRENCIES.length] as TestOrder['currency'];
  const first = IN_STOCK[i % IN_STOCK.length] as string;
  const second = IN_STOCK[(i + 1 + (i % 3)) % IN_STOCK.length] as string;
  const quantity = 1 + (i % 3);
  const items =
    kind === 'unknown'
      ? [{ sku: `SKU-LOAD-UNKNOWN-${RUN}-${i}`, quantity: 1 }]
      : kind === 'oos'
        ? // An in-stock line next to the missing one: the reservation is all or nothing.
          [
            { sku: first, quantity },
            { sku: GONE, quantity: 1 },
          ]
        : i % 2 === 0
          ? [{ sku: first, quantity }]
          : [
              { sku: first, quantity },
              { sku: second, quantity: 1 },
            ];
  const expectedTotalCents = items.reduce((sum, l) => sum + (PRICES.get(l.sku)?.[currency] ?? 0) * l.quantity, 0);
  return {
    kind,
    orderId,
    currency,
    placedAt: 0,
    items,
    ...(kind === 'poison' ? {} : { expected: EXPECTED[kind], expectedTotalCents }),
  };
}

/**
 * Waits until no member is left in the pipeline's consumer groups, or throws naming them. A pipeline killed just
 * before (crash.e2e ends with a SIGKILL) stays a member until its session times out (30 s); another pipeline that
 * joins mid-run makes the groups rebalance, which the local event source does not survive yet (a commit that
 * fails in the rebalance stops its kafkajs consumer for good): either would leave orders of this run unprocessed,
 * so the test refuses to start instead of timing out.
 */
async function waitForEmptyGroups(admin: Admin, timeoutMs: number): Promise<void> {
  const groupIds = CONSUMERS.map((c) => c.groupId);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { groups } = await admin.describeGroups(groupIds);
    const busy = groups.filter((g) => g.members.length > 0);
    if (busy.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `another consumer is still in the pipeline's groups after ${timeoutMs / 1000} s (${busy
          .map((g) => `${g.groupId}: ${g.members.map((m) => `${m.clientId}@${m.clientHost}`).join(', ')}`)
          .join('; ')}): stop the other pipeline (npm run dev, a test) and run again`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

beforeAll(
  async () => {
    // Prepare: the stack, test-only SKUs with known stock, the pipeline, a tail on the dead-letter topic.
    const config = await requireRunningStack();
    applyFunctionEnv();
    const admin = new Kafka({ brokers: [...config.kafkaBrokers], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      await waitForEmptyGroups(admin, 60_000);
    } finally {
      await admin.disconnect();
    }
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
    for (const [sku, prices] of PRICES) {
      await doc.send(
        new PutCommand({
          TableName: localTableName(TABLES.CATALOG),
          Item: { pk: `SKU#${sku}`, sku, name: sku, prices },
        }),
      );
      await doc.send(
        new PutCommand({
          TableName: localTableName(TABLES.INVENTORY),
          Item: { pk: `SKU#${sku}`, sku, available: sku === GONE ? 0 : STOCK },
        }),
      );
    }
    const stockBefore = await readStock(doc, [...PRICES.keys()]);
    dlqTail = await tailTopics(config.kafkaBrokers, [TOPICS.ORDERS_DLQ]);
    emails = collectEmails(config.awsEndpointUrl, 15_000);
    pipeline = await startPipeline();
    producer = new Kafka({ brokers: [...config.kafkaBrokers], logLevel: logLevel.NOTHING }).producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    const codec = localCodec(config);
    const tracker = trackFinalStatuses(doc, { intervalMs: 1_000 });

    // Act: produce the records at RATE, a batch every 50 ms, and wait (bounded) until every order is final.
    const started = Date.now();
    for (let sent = 0; sent < RECORDS; ) {
      const due = Math.min(RECORDS, Math.floor(((Date.now() - started) / 1000) * RATE) + 1);
      const messages = [];
      for (; sent < due; sent += 1) {
        const order = { ...orderAt(sent), placedAt: Date.now() };
        orders.push(order);
        if (order.kind === 'poison') {
          messages.push({ key: order.orderId, value: Buffer.from(`not avro ${order.orderId}`) });
          continue;
        }
        const event: EventOf<'OrderPlaced'> = {
          type: 'OrderPlaced',
          eventId: randomUUID(),
          orderId: order.orderId,
          occurredAt: order.placedAt,
          correlationId: randomUUID(),
          customerId: `load-${RUN}-${sent % 100}`,
          email: `load+${RUN}-${sent}@example.com`,
          currency: order.currency,
          items: order.items,
          paymentToken: TOKENS[order.kind],
        };
        const encoded = await codec.encode(event);
        messages.push({ key: encoded.key, value: encoded.value, headers: encoded.headers });
        tracker.add([order.orderId]);
      }
      if (messages.length > 0) await producer.send({ topic: TOPICS.ORDERS_RAW, acks: -1, messages });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // However slow the machine, wait while orders keep finishing; give up only when none finished for STALL_MS
    // (or after MAX_DRAIN_MS): a stalled pipeline fails, a slow one does not.
    const drainDeadline = Date.now() + MAX_DRAIN_MS;
    let lastPending = tracker.pending();
    let lastProgress = Date.now();
    while (tracker.pending() > 0 && Date.now() < drainDeadline && Date.now() - lastProgress < STALL_MS) {
      await tracker.settle(10_000);
      if (tracker.pending() < lastPending) {
        lastPending = tracker.pending();
        lastProgress = Date.now();
      }
    }
    await tracker.stop();

    // Compensations (stock released after a decline) and emails follow the final status: read until the audit is
    // clean or 60 s have passed, then keep what was read last.
    const placed = orders.filter((o) => o.kind !== 'poison');
    const deadline = Date.now() + 60_000;
    for (;;) {
      await emails.refresh();
      ({ report, payments, stockAfter } = await readAndAudit(doc, {
        orders: placed,
        skus: [...PRICES.keys()],
        stockBefore,
        emails: emails.emails(),
      }));
      if ((report.violations === 0 && report.unfinished.length === 0) || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
    // Dead letters: wait (≤ 30 s) until validate-order's letter of every poison record is in, then keep all seen.
    const poison = new Set(orders.filter((o) => o.kind === 'poison').map((o) => o.orderId));
    const fromValidate = (records: readonly ConsumedRecord[]) =>
      records.filter((r) => r.message.headers?.['dlq-consumer']?.toString() === 'validate-order');
    const tail = dlqTail;
    letters = await tail
      .until(
        (records) =>
          new Set(
            fromValidate(records).flatMap((r) => (poison.has(String(r.message.key)) ? [String(r.message.key)] : [])),
          ).size >= poison.size,
        30_000,
      )
      .catch(() => tail.until(() => true, 1_000));
  },
  MAX_DRAIN_MS + 5 * 60_000,
);

afterAll(async () => {
  await emails?.stop();
  await producer?.disconnect();
  await dlqTail?.stop();
  await pipeline?.stop();
}, 60_000);

const ofKind = (...kinds: Kind[]) => orders.filter((o) => kinds.includes(o.kind));

describe('the local pipeline under a burst of 2,000 orders', () => {
  it('ends every order in the final status its kind implies', () => {
    const counts = Object.fromEntries(
      (['CONFIRMED', 'CANCELLED', 'REJECTED'] as const).map((s) => [
        s,
        orders.filter((o) => o.expected?.status === s).length,
      ]),
    );

    expect(orders).toHaveLength(RECORDS);
    expect(ofKind('decline', 'oos', 'unknown', 'flaky', 'poison').length).toBeGreaterThan(0);
    expect({ unfinished: report.unfinished, unexpected: report.unexpected }).toEqual({
      unfinished: [],
      unexpected: [],
    });
    expect(report.byStatus).toEqual(counts);
  });

  it('takes stock for exactly the confirmed quantities, all lines or none', () => {
    const expected = new Map([...PRICES.keys()].map((sku) => [sku, sku === GONE ? 0 : STOCK]));
    for (const order of ofKind('good', 'flaky')) {
      for (const line of order.items) expected.set(line.sku, (expected.get(line.sku) ?? 0) - line.quantity);
    }

    expect(Object.fromEntries(stockAfter)).toEqual(Object.fromEntries(expected));
    expect(report.stock.skus).toMatchObject({ lost: 0, doubled: 0 });
    expect(report.stock.reservations).toMatchObject({
      checked: RECORDS - ofKind('poison').length,
      lost: 0,
      doubled: 0,
    });
  });

  it('charges each confirmed order once, its total, and leaves no charge on a cancelled or rejected one', () => {
    const statusOf = (kinds: Kind[]) => [...new Set(ofKind(...kinds).map((o) => payments.get(o.orderId)?.status))];

    expect(report.charges).toMatchObject({ lost: 0, doubled: 0 });
    expect(
      ofKind('good', 'flaky').filter((o) => {
        const p = payments.get(o.orderId);
        return p?.status !== 'CHARGED' || p.amountCents !== o.expectedTotalCents;
      }),
    ).toEqual([]);
    expect(statusOf(['decline'])).toEqual(['FAILED']);
    expect(statusOf(['oos']).every((s) => s === 'CANCELLED' || s === 'REFUNDED')).toBe(true);
    expect(statusOf(['unknown'])).toEqual([undefined]);
  });

  it('sends exactly one email per final transition, of the template its status implies', () => {
    expect(report.emails).toMatchObject({ checked: RECORDS - ofKind('poison').length, lost: 0, doubled: 0 });
  });

  it('dead-letters every poison record from validate-order as a deserialization error', () => {
    const poison = ofKind('poison').map((o) => o.orderId);
    const fromValidate = letters.filter((r) => r.message.headers?.['dlq-consumer']?.toString() === 'validate-order');
    const reasons = new Map(
      fromValidate.map((r) => [r.message.key?.toString(), r.message.headers?.['dlq-reason']?.toString()]),
    );

    expect(poison.map((id) => [id, reasons.get(id)])).toEqual(poison.map((id) => [id, 'DESERIALIZATION_ERROR']));
  });
});
