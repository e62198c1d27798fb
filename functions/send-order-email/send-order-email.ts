/**
 * send-order-email: turns an order transition from the bus into one templated email. Parsing and rendering
 * are pure; sending goes through the `EmailSender` port so the SES client stays in the handler.
 */
import { type OrderTransitionDetail, orderTransitionDetail } from '../../shared/bus.js';
import { TransientError, ValidationError } from '../../shared/errors.js';
import { maskEmail } from '../../shared/observability.js';
import type { FinalBusDetailType } from '../../shared/topology.js';

/** The status each detail type announces; a mismatch means a broken publisher. */
const STATUS_OF: Record<FinalBusDetailType, OrderTransitionDetail['status']> = {
  OrderConfirmed: 'CONFIRMED',
  OrderCancelled: 'CANCELLED',
  OrderRejected: 'REJECTED',
};

/** The part of an EventBridge event this function reads. */
export interface TransitionEventEnvelope {
  readonly 'detail-type': string;
  readonly detail: unknown;
}

/** A validated transition event. `detail.transitionId` is the idempotency key. */
export interface OrderTransitionEvent {
  readonly detailType: FinalBusDetailType;
  readonly detail: OrderTransitionDetail;
}

/** SES template names, per kind of email. */
export interface EmailTemplates {
  readonly confirmation: string;
  readonly cancellation: string;
}

/** One templated email, ready for SES. */
export interface TemplatedEmail {
  readonly source: string;
  readonly to: string;
  readonly template: string;
  readonly templateData: OrderEmailData;
}

/** `TemplateData` of every order email (SES templates reference these names). */
export interface OrderEmailData {
  readonly orderId: string;
  readonly status: OrderTransitionDetail['status'];
  readonly reason: string | null;
  readonly totalCents: number;
  /** The total for humans, e.g. `€12.34`. */
  readonly total: string;
  readonly currency: string;
  readonly items: readonly { readonly sku: string; readonly quantity: number }[];
}

/** Sends a templated email; resolves with the provider's message id. */
export interface EmailSender {
  send(email: TemplatedEmail): Promise<{ messageId: string }>;
}

/** What sending one transition's email produced; stored as the idempotent result. */
export interface SentEmail {
  readonly transitionId: string;
  readonly template: string;
  readonly messageId: string;
}

/** The ports and settings `sendOrderEmail` runs with. */
export interface SendOrderEmailOptions {
  readonly sender: EmailSender;
  /** Verified SES identity the email comes from. */
  readonly source: string;
  readonly templates: EmailTemplates;
}

/**
 * Validates an EventBridge event against the bus contract. Throws `ValidationError` naming the bad fields,
 * never their values: the detail holds the recipient's address.
 */
export function parseTransitionEvent(event: TransitionEventEnvelope): OrderTransitionEvent {
  const detailType = event['detail-type'];
  if (!(detailType in STATUS_OF)) {
    throw new ValidationError(`unexpected detail-type "${detailType}": expected one of ${Object.keys(STATUS_OF)}`);
  }
  const parsed = orderTransitionDetail.safeParse(event.detail);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'detail'}: ${issue.message}`);
    throw new ValidationError(`invalid ${detailType} detail: ${problems.join('; ')}`);
  }
  const expected = STATUS_OF[detailType as FinalBusDetailType];
  if (parsed.data.status !== expected) {
    throw new ValidationError(`invalid ${detailType} detail: status is ${parsed.data.status}, expected ${expected}`);
  }
  return { detailType: detailType as FinalBusDetailType, detail: parsed.data };
}

/** `cents` as money in `currency` (`€12.34`); the bare amount when the currency is unknown. */
export function formatTotal(cents: number, currency: string): string {
  try {
    return new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(cents / 100);
  } catch {
    // A rejected order may never have told us its currency; the amount alone still reads right.
    return (cents / 100).toFixed(2);
  }
}

/** The email for a transition: confirmation for OrderConfirmed, cancellation for OrderCancelled and OrderRejected. */
export function orderEmailOf(event: OrderTransitionEvent, source: string, templates: EmailTemplates): TemplatedEmail {
  const { detail } = event;
  return {
    source,
    to: detail.email,
    template: event.detailType === 'OrderConfirmed' ? templates.confirmation : templates.cancellation,
    templateData: {
      orderId: detail.orderId,
      status: detail.status,
      reason: detail.reason ?? null,
      totalCents: detail.totalCents,
      total: formatTotal(detail.totalCents, detail.currency),
      currency: detail.currency,
      items: detail.items,
    },
  };
}

/**
 * Sends the email of one transition. A failure is rethrown as `TransientError` with the recipient masked:
 * SES puts the address in some of its messages, and the thrown message ends up in logs and dead-letter queues.
 */
export async function sendOrderEmail(event: OrderTransitionEvent, options: SendOrderEmailOptions): Promise<SentEmail> {
  const email = orderEmailOf(event, options.source, options.templates);
  try {
    const { messageId } = await options.sender.send(email);
    return { transitionId: event.detail.transitionId, template: email.template, messageId };
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    const message = (error instanceof Error ? error.message : String(error)).replaceAll(email.to, maskEmail(email.to));
    // No `cause`: the original error carries the unmasked address, and loggers print causes.
    throw new TransientError(`could not send ${email.template} for ${event.detail.transitionId}: ${name}: ${message}`);
  }
}
