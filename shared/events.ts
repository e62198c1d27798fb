/**
 * TypeScript shapes of the Avro events in `schemas/`. A decoded record is `{ type, ...fields }`; the codec
 * adds `type` from the Avro record name on decode and strips it on encode.
 */
import type { GeneratedEventFields } from './events.generated.js';
import type { EventType } from './topology.js';

/** ISO 4217 currencies orderflow accepts. */
export const CURRENCIES = ['EUR', 'USD', 'GBP'] as const;
/** An accepted currency code. */
export type Currency = (typeof CURRENCIES)[number];

/** Fields every event carries. */
export interface EventBase {
  /** Unique id; consumers deduplicate on it. */
  readonly eventId: string;
  /** Order the event belongs to; also the Kafka key. */
  readonly orderId: string;
  /** Epoch milliseconds UTC. */
  readonly occurredAt: number;
  /** Shared by every event caused by one request. */
  readonly correlationId: string;
}

/** A SKU and how many of it. */
export interface OrderItem {
  readonly sku: string;
  readonly quantity: number;
}

/** A priced line of a validated order. */
export interface PricedLine extends OrderItem {
  readonly unitPriceCents: number;
  readonly lineTotalCents: number;
}

/** `T` with the fields of `N` replaced by `N`'s narrower types. */
type Narrowed<T, N extends Partial<Record<keyof T, unknown>>> = Omit<T, keyof N> & N;

/**
 * Fields of each event type, keyed by type: the generated fields of the schemas (`events.generated.ts`, written by
 * `npm run schemas:gen`), with the strings whose values the code relies on narrowed to those values. A field added
 * to a schema appears here without an edit; a narrowing of a field the schema no longer has fails to compile.
 */
export interface EventFields {
  OrderPlaced: GeneratedEventFields['OrderPlaced'];
  OrderValidated: Narrowed<GeneratedEventFields['OrderValidated'], { readonly status: 'PENDING' }>;
  OrderRejected: Narrowed<
    GeneratedEventFields['OrderRejected'],
    { readonly reason: 'UNKNOWN_SKU' | 'CUSTOMER_BLOCKED' }
  >;
  InventoryReserved: GeneratedEventFields['InventoryReserved'];
  InventoryRejected: Narrowed<GeneratedEventFields['InventoryRejected'], { readonly reason: 'OUT_OF_STOCK' }>;
  InventoryReleased: GeneratedEventFields['InventoryReleased'];
  PaymentProcessed: GeneratedEventFields['PaymentProcessed'];
  PaymentFailed: Narrowed<GeneratedEventFields['PaymentFailed'], { readonly reason: 'PAYMENT_DECLINED' }>;
  PaymentRefunded: GeneratedEventFields['PaymentRefunded'];
}

/** One event of type `T`, flat: `{ type, eventId, orderId, ... }`. */
export type EventOf<T extends EventType> = { readonly type: T } & EventBase & EventFields[T];

/** Any orderflow event, discriminated by `type`. */
export type OrderflowEvent = { [T in EventType]: EventOf<T> }[EventType];
