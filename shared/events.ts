/**
 * TypeScript shapes of the Avro events in `schemas/`. A decoded record is `{ type, ...fields }`; the codec
 * adds `type` from the Avro record name on decode and strips it on encode.
 */
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

/** Fields of each event type, keyed by type. */
export interface EventFields {
  OrderPlaced: {
    readonly customerId: string;
    readonly email: string;
    readonly currency: string;
    readonly items: readonly OrderItem[];
    readonly paymentToken: string | null;
  };
  OrderValidated: {
    readonly customerId: string;
    readonly email: string;
    readonly currency: string;
    readonly lines: readonly PricedLine[];
    readonly totalCents: number;
    readonly status: 'PENDING';
    readonly validatedAt: number;
    readonly paymentToken: string | null;
  };
  OrderRejected: {
    readonly customerId: string;
    readonly email: string;
    readonly reason: 'UNKNOWN_SKU' | 'CUSTOMER_BLOCKED';
    readonly detail: string;
  };
  InventoryReserved: { readonly lines: readonly OrderItem[] };
  InventoryRejected: { readonly reason: 'OUT_OF_STOCK'; readonly skus: readonly string[] };
  InventoryReleased: { readonly lines: readonly OrderItem[]; readonly reason: string };
  PaymentProcessed: { readonly paymentId: string; readonly amountCents: number; readonly currency: string };
  PaymentFailed: { readonly amountCents: number; readonly currency: string; readonly reason: 'PAYMENT_DECLINED' };
  PaymentRefunded: {
    readonly paymentId: string;
    readonly amountCents: number;
    readonly currency: string;
    readonly reason: string;
  };
}

/** One event of type `T`, flat: `{ type, eventId, orderId, ... }`. */
export type EventOf<T extends EventType> = { readonly type: T } & EventBase & EventFields[T];

/** Any orderflow event, discriminated by `type`. */
export type OrderflowEvent = { [T in EventType]: EventOf<T> }[EventType];
