/**
 * The contract of events on the orderflow EventBridge bus: published by order-status once per transition,
 * consumed by send-order-email and any other subscriber.
 */
import * as z from 'zod';
import { BUS_DETAIL_TYPES } from './topology.js';

/** `detail` of OrderConfirmed, OrderCancelled and OrderRejected. */
export const orderTransitionDetail = z.object({
  orderId: z.string().min(1),
  /** `<orderId>:<status>`: the same transition always has the same id, so subscribers dedupe on it. */
  transitionId: z.string().min(1),
  status: z.enum(['CONFIRMED', 'CANCELLED', 'REJECTED']),
  /** Why the order was cancelled or rejected (OUT_OF_STOCK, PAYMENT_DECLINED, UNKNOWN_SKU, CUSTOMER_BLOCKED). */
  reason: z.string().optional(),
  customerId: z.string(),
  /** Recipient of the order email. PII: never log it unmasked. */
  email: z.string().email(),
  currency: z.string(),
  totalCents: z.number().int().nonnegative(),
  items: z.array(z.object({ sku: z.string(), quantity: z.number().int().positive() })),
  /** ISO time of the transition. */
  occurredAt: z.string(),
  correlationId: z.string(),
});

/** Parsed `detail` of an order transition event. */
export type OrderTransitionDetail = z.infer<typeof orderTransitionDetail>;

/** Detail types on the bus. */
export const busDetailType = z.enum(BUS_DETAIL_TYPES);
