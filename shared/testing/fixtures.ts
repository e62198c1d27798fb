/**
 * Test fixtures: load recorded events (cloned per use), build MSK events with real Confluent- or Glue-framed Avro
 * values and poison records, and capture what a function produces.
 */
import { readFileSync } from 'node:fs';
import { EventCodec, type WireFormat } from '../codec.js';
import type { EventBase, EventFields, EventOf, OrderflowEvent } from '../events.js';
import { type EventPublisher, eventPublisher, type ProducerRecord, type RecordProducer } from '../kafka.js';
import { type DeadLetter, type DeadLetterSink, type MskEvent, type RawKafkaRecord, toMskEvent } from '../msk.js';
import {
  type GlueRegistrySnapshot,
  glueSnapshotSchemaSource,
  type RegistrySnapshot,
  snapshotSchemaSource,
} from '../schema-registry.js';
import type { EventType } from '../topology.js';

const ROOT = new URL('../../', import.meta.url);

/**
 * Reads a JSON file under `events/` and returns a fresh deep copy, so a test may change it freely.
 *
 * @example
 * const event = loadEvent<MskEvent>('validate-order/order-placed.json');
 */
export function loadEvent<T>(path: string): T {
  return structuredClone(JSON.parse(readFileSync(new URL(`events/${path}`, ROOT), 'utf8')) as T);
}

/**
 * A loader of one function's recorded MSK events (`events/<folder>/<name>.json`), a fresh copy per call.
 *
 * @example
 * const fixture = mskFixtures('process-payment');
 * await handler(fixture('order-validated-visa'), context);
 */
export function mskFixtures(folder: string): (name: string) => MskEvent {
  return (name) => loadEvent<MskEvent>(`${folder}/${name}.json`);
}

/** A clock for tests that starts at `start` (epoch milliseconds) and moves one millisecond per reading. */
export function tickingClock(start: number): () => number {
  let now = start;
  return () => now++;
}

/** The recorded registry every MSK fixture was encoded against (`events/registry.json`). */
export function recordedRegistry(): RegistrySnapshot {
  return loadEvent<RegistrySnapshot>('registry.json');
}

/** The recorded Glue registry the Glue-framed MSK fixtures were encoded against (`events/glue-registry.json`). */
export function recordedGlueRegistry(): GlueRegistrySnapshot {
  return loadEvent<GlueRegistrySnapshot>('glue-registry.json');
}

/**
 * A codec over both recorded registries, no network: it decodes Confluent- and Glue-framed records and encodes in
 * `encodeWith` (Glue records zlib-compressed when `glueCompression`).
 *
 * @example
 * const glue = recordedCodec('glue', { glueCompression: true });
 */
export function recordedCodec(
  encodeWith: WireFormat = 'confluent',
  options: { glueCompression?: boolean } = {},
): EventCodec {
  return new EventCodec({
    confluent: snapshotSchemaSource(recordedRegistry()),
    glue: glueSnapshotSchemaSource(recordedGlueRegistry()),
    encodeWith,
    glueCompression: options.glueCompression,
  });
}

/** The bootstrap servers written into fixtures. */
export const FIXTURE_BOOTSTRAP = 'b-1.orderflow.kafka-serverless.us-east-1.amazonaws.com:9098';

/**
 * Encodes events into one MSK event, each on `partition` (default 0) with consecutive offsets from `firstOffset`.
 *
 * @example
 * const event = await mskEventOf(codec, [orderPlaced], { partition: 2 });
 */
export async function mskEventOf(
  codec: EventCodec,
  events: readonly OrderflowEvent[],
  options: { partition?: number; firstOffset?: number; timestamp?: number } = {},
): Promise<MskEvent> {
  const records: RawKafkaRecord[] = [];
  let offset = options.firstOffset ?? 0;
  for (const event of events) {
    const encoded = await codec.encode(event);
    records.push({
      topic: encoded.topic,
      partition: options.partition ?? 0,
      offset: offset++,
      timestamp: options.timestamp ?? event.occurredAt,
      key: encoded.key,
      value: encoded.value,
      headers: encoded.headers,
    });
  }
  return toMskEvent(records, { bootstrapServers: FIXTURE_BOOTSTRAP });
}

/**
 * A `batchItemFailures` entry of a partial batch response: Lambda identifies the partition by its `topic-partition`
 * key (https://docs.aws.amazon.com/lambda/latest/dg/kafka-retry-configurations.html).
 *
 * @example
 * expect(response).toEqual({ batchItemFailures: [batchItemFailure(TOPICS.ORDERS_RAW, 0, 11)] });
 */
export function batchItemFailure(topic: string, partition: number, offset: number) {
  return { itemIdentifier: { partition: `${topic}-${partition}`, offset } };
}

/** Merges MSK events into one (records of the same topic-partition are concatenated). */
export function mergeMskEvents(...events: readonly MskEvent[]): MskEvent {
  const records: Record<string, MskEvent['records'][string][number][]> = {};
  for (const e of events) {
    for (const [key, list] of Object.entries(e.records)) records[key] = [...(records[key] ?? []), ...list];
  }
  return { ...events[0], eventSource: 'aws:kafka', bootstrapServers: FIXTURE_BOOTSTRAP, records };
}

/** An in-memory broker for unit tests: captures produced records and dead letters. */
export class MemoryKafka {
  readonly records: ProducerRecord[] = [];
  readonly deadLetters: DeadLetter[] = [];
  /** When set, the next send (records or dead letter) throws this error, then it clears. */
  failNextSend: Error | undefined;

  /** A `RecordProducer` writing into `records`. */
  readonly producer: RecordProducer = {
    send: async (records) => {
      this.maybeFail();
      this.records.push(...records);
    },
    disconnect: async () => {},
  };

  /** A `DeadLetterSink` writing into `deadLetters`. */
  readonly deadLetterSink: DeadLetterSink = {
    send: async (letter) => {
      this.maybeFail();
      this.deadLetters.push(letter);
    },
  };

  /** Each dead letter's `dlq-reason` and `dlq-source-offset` headers, in order. */
  deadLetterReasons(): [string | undefined, string | undefined][] {
    return this.deadLetters.map((d) => [d.headers['dlq-reason'], d.headers['dlq-source-offset']]);
  }

  /** Decodes what was produced to `topic`, in order. */
  async eventsOn(codec: EventCodec, topic: string): Promise<OrderflowEvent[]> {
    const produced = this.records.filter((r) => r.topic === topic);
    return Promise.all(produced.map((r, i) => codec.decode(r.value, { topic, partition: 0, offset: String(i) })));
  }

  private maybeFail(): void {
    const error = this.failNextSend;
    if (error) {
      this.failNextSend = undefined;
      throw error;
    }
  }
}

/**
 * The Kafka side of a Kafka-fed function under test: the recorded codec, an in-memory broker, the `codec`,
 * `deadLetters` and `publisher` every `createHandler` takes, and what was produced to `topic`, decoded.
 *
 * @example
 * const { kafka, deps, produced } = memoryKafkaRig(TOPICS.PAYMENT_EVENTS);
 * const handler = createHandler({ ...deps, store, clock: tickingClock(NOW) });
 */
export function memoryKafkaRig(topic: string) {
  const codec = recordedCodec();
  const kafka = new MemoryKafka();
  return {
    codec,
    kafka,
    deps: { codec, deadLetters: kafka.deadLetterSink, publisher: eventPublisher(codec, kafka.producer) },
    produced: () => kafka.eventsOn(codec, topic),
  };
}

/**
 * An OrderPlaced event for logic tests: one customer ordering two EUR mugs with `tok_visa`, `overrides` on top.
 *
 * @example
 * const event = orderPlacedEvent({ orderId: ORDER_ID, occurredAt: T0, paymentToken: null });
 */
export function orderPlacedEvent(overrides: Partial<EventOf<'OrderPlaced'>> = {}): EventOf<'OrderPlaced'> {
  return {
    type: 'OrderPlaced',
    eventId: 'ev-placed',
    orderId: 'order-1',
    occurredAt: 0,
    correlationId: 'corr-1',
    customerId: 'cust-1',
    email: 'ada.lovelace@example.com',
    currency: 'EUR',
    items: [{ sku: 'SKU-MUG', quantity: 2 }],
    paymentToken: 'tok_visa',
    ...overrides,
  };
}

/**
 * An OrderValidated event for logic tests: one customer, two EUR mugs paid by `tok_visa`, `overrides` on top;
 * `validatedAt` defaults to `occurredAt` and `totalCents` to the sum of the lines.
 *
 * @example
 * const event = orderValidatedEvent({ orderId: ORDER_ID, occurredAt: T0, paymentToken: null });
 */
export function orderValidatedEvent(overrides: Partial<EventOf<'OrderValidated'>> = {}): EventOf<'OrderValidated'> {
  const occurredAt = overrides.occurredAt ?? 0;
  const lines = overrides.lines ?? [{ sku: 'SKU-MUG', quantity: 2, unitPriceCents: 1250, lineTotalCents: 2500 }];
  return {
    type: 'OrderValidated',
    eventId: 'ev-validated',
    orderId: 'order-1',
    correlationId: 'corr-1',
    customerId: 'cust-1',
    email: 'ada.lovelace@example.com',
    currency: 'EUR',
    status: 'PENDING',
    paymentToken: 'tok_visa',
    ...overrides,
    occurredAt,
    validatedAt: overrides.validatedAt ?? occurredAt,
    lines,
    totalCents: overrides.totalCents ?? lines.reduce((sum, l) => sum + l.lineTotalCents, 0),
  };
}

/** The event types `testEvent` builds; OrderPlaced and OrderValidated have builders of their own. */
export type DownstreamEventType = Exclude<EventType, 'OrderPlaced' | 'OrderValidated'>;

/** `testEvent`'s fields per type: order-1's two EUR mugs (2500 cents), paid as pay-1. */
const DOWNSTREAM_FIELDS: { readonly [T in DownstreamEventType]: EventFields[T] } = {
  OrderRejected: {
    customerId: 'cust-1',
    email: 'ada.lovelace@example.com',
    reason: 'UNKNOWN_SKU',
    detail: 'unknown SKU: SKU-MUG',
  },
  InventoryReserved: { lines: [{ sku: 'SKU-MUG', quantity: 2 }] },
  InventoryRejected: { reason: 'OUT_OF_STOCK', skus: ['SKU-MUG'] },
  InventoryReleased: { lines: [{ sku: 'SKU-MUG', quantity: 2 }], reason: 'PAYMENT_DECLINED' },
  PaymentProcessed: { paymentId: 'pay-1', amountCents: 2500, currency: 'EUR' },
  PaymentFailed: { amountCents: 2500, currency: 'EUR', reason: 'PAYMENT_DECLINED' },
  PaymentRefunded: { paymentId: 'pay-1', amountCents: 2500, currency: 'EUR', reason: 'OUT_OF_STOCK' },
};

/**
 * An event of `type` after validation, for logic tests: about order-1 (`corr-1`, at 0) and its two EUR mugs,
 * `overrides` on top.
 *
 * @example
 * const stockOut = testEvent('InventoryRejected', { orderId: ORDER_ID, occurredAt: T0 + 1000 });
 */
export function testEvent<T extends DownstreamEventType>(type: T, overrides: Partial<EventOf<T>> = {}): EventOf<T> {
  const base: EventBase = { eventId: `ev-${type}`, orderId: 'order-1', occurredAt: 0, correlationId: 'corr-1' };
  const fields = DOWNSTREAM_FIELDS[type] as EventFields[T];
  return { type, ...base, ...fields, ...overrides } as EventOf<T>;
}

/** A publisher that keeps (copies of) what it was given, in order. */
export class RecordingPublisher implements EventPublisher {
  readonly published: OrderflowEvent[] = [];
  async publish(events: readonly OrderflowEvent[]): Promise<void> {
    this.published.push(...structuredClone(events));
  }
}
