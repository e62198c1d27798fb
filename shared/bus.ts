/**
 * The contract of events on the orderflow EventBridge bus, all published by order-status: OrderConfirmed,
 * OrderCancelled and OrderRejected once per order when it reaches that final status (consumed by
 * send-order-email and the webhook), and OrderStatusChanged once per status transition (consumed by the live
 * notifier).
 */
import { ORDER_STATUSES } from './live-protocol.js';
import { BUS_DETAIL_TYPES } from './topology.js';
import * as z from './zod.js';

/** `detail` of OrderConfirmed, OrderCancelled and OrderRejected. */
export const orderTransitionDetail = z.object({
  orderId: z.string().check(z.minLength(1)),
  /** `<orderId>:<status>`: the same transition always has the same id, so subscribers dedupe on it. */
  transitionId: z.string().check(z.minLength(1)),
  status: z.enum(['CONFIRMED', 'CANCELLED', 'REJECTED']),
  /** Why the order was cancelled or rejected (OUT_OF_STOCK, PAYMENT_DECLINED, UNKNOWN_SKU, CUSTOMER_BLOCKED). */
  reason: z.optional(z.string()),
  customerId: z.string(),
  /** Recipient of the order email. PII: never log it unmasked. */
  email: z.email(),
  currency: z.string(),
  totalCents: z.int().check(z.nonnegative()),
  items: z.array(z.object({ sku: z.string(), quantity: z.int().check(z.positive()) })),
  /** ISO time of the transition. */
  occurredAt: z.string(),
  correlationId: z.string(),
});

/** Parsed `detail` of an order transition event. */
export type OrderTransitionDetail = z.infer<typeof orderTransitionDetail>;

/** Detail types on the bus. */
export const busDetailType = z.enum(BUS_DETAIL_TYPES);

/**
 * `detail` of OrderStatusChanged: one per status transition of an order (PLACED first), final or not. Carries no
 * PII, so any subscriber may receive it.
 */
export const orderStatusChangedDetail = z.object({
  orderId: z.string().check(z.minLength(1)),
  /** `<orderId>:<status>`: an order enters each status at most once, so subscribers dedupe on it. */
  transitionId: z.string().check(z.minLength(1)),
  status: z.enum(ORDER_STATUSES),
  /** The status it left; absent for PLACED. */
  previousStatus: z.optional(z.enum(ORDER_STATUSES)),
  /** Why the order was cancelled or rejected. */
  reason: z.optional(z.string()),
  /** ISO time of the event that caused the transition. */
  occurredAt: z.string(),
  correlationId: z.string(),
});

/** Parsed `detail` of an OrderStatusChanged event. */
export type OrderStatusChangedDetail = z.infer<typeof orderStatusChangedDetail>;
