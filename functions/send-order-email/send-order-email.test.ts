import { describe, expect, it } from '@jest/globals';
import type { EventBridgeEvent } from 'aws-lambda';
import { TransientError, ValidationError } from '../../shared/errors.js';
import { loadEvent } from '../../shared/testing/fixtures.js';
import {
  type EmailSender,
  formatTotal,
  orderEmailOf,
  parseTransitionEvent,
  sendOrderEmail,
  type TemplatedEmail,
} from './send-order-email.js';

const TEMPLATES = { confirmation: 'confirmed-tpl', cancellation: 'cancelled-tpl' };
const SOURCE = 'orders@orderflow.example';
const ADDRESS = 'ada.lovelace@example.com';

type BusEvent = EventBridgeEvent<string, Record<string, unknown>>;
const fixture = (name: string) => loadEvent<BusEvent>(`send-order-email/${name}.json`);

/** An `EmailSender` that records emails, or fails with `failWith`. */
function recordingSender(failWith?: Error): EmailSender & { sent: TemplatedEmail[] } {
  const sent: TemplatedEmail[] = [];
  return {
    sent,
    send: async (email) => {
      if (failWith) throw failWith;
      sent.push(email);
      return { messageId: `msg-${sent.length}` };
    },
  };
}

describe('parseTransitionEvent', () => {
  it('returns the detail type and the validated detail', () => {
    // Act
    const parsed = parseTransitionEvent(fixture('order-cancelled'));

    // Assess
    expect(parsed.detailType).toBe('OrderCancelled');
    expect(parsed.detail).toMatchObject({ status: 'CANCELLED', reason: 'OUT_OF_STOCK', email: ADDRESS });
  });

  it('fails when the detail breaks the contract, naming every bad field but no value', () => {
    // Act
    const error = (() => {
      try {
        return parseTransitionEvent(fixture('invalid-detail'));
      } catch (e) {
        return e;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    const message = (error as Error).message;
    expect(message).toMatch(/^invalid OrderConfirmed detail: /);
    expect(message).toContain('email:');
    expect(message).toContain('totalCents:');
    expect(message).toContain('items:');
    expect(message).not.toContain('ada.lovelace');
  });

  it('fails when the detail type is not an order transition', () => {
    // Prepare
    const event = { ...fixture('order-confirmed'), 'detail-type': 'OrderShipped' };

    // Act & Assess
    expect(() => parseTransitionEvent(event)).toThrow(
      'unexpected detail-type "OrderShipped": expected one of OrderConfirmed,OrderCancelled,OrderRejected',
    );
  });

  it('fails when the status does not match the detail type', () => {
    // Prepare
    const event = fixture('order-confirmed');
    event.detail.status = 'CANCELLED';

    // Act & Assess
    expect(() => parseTransitionEvent(event)).toThrow(
      'invalid OrderConfirmed detail: status is CANCELLED, expected CONFIRMED',
    );
  });
});

describe('formatTotal', () => {
  it.each([
    [1234, 'EUR', '€12.34'],
    [3399, 'USD', '$33.99'],
    [1250, 'GBP', '£12.50'],
    [0, 'EUR', '€0.00'],
    [0, '', '0.00'],
    [1234, 'NOT-A-CURRENCY', '12.34'],
  ])('formats %i cents in "%s" as %s', (cents, currency, expected) => {
    // Act & Assess
    expect(formatTotal(cents, currency)).toBe(expected);
  });
});

describe('orderEmailOf', () => {
  it.each([
    ['order-confirmed', 'confirmed-tpl'],
    ['order-cancelled', 'cancelled-tpl'],
    ['order-rejected', 'cancelled-tpl'],
  ])('renders %s with the %s template', (name, template) => {
    // Act
    const email = orderEmailOf(parseTransitionEvent(fixture(name)), SOURCE, TEMPLATES);

    // Assess
    expect(email).toMatchObject({ source: SOURCE, to: ADDRESS, template });
  });

  it('puts the order, its status, reason, formatted total and items in the template data', () => {
    // Act
    const email = orderEmailOf(parseTransitionEvent(fixture('order-cancelled')), SOURCE, TEMPLATES);

    // Assess
    expect(email.templateData).toEqual({
      orderId: '5b0e7c2a-4f1d-4c3e-9a61-0000000000a3',
      status: 'CANCELLED',
      reason: 'OUT_OF_STOCK',
      totalCents: 1250,
      total: '£12.50',
      currency: 'GBP',
      items: [{ sku: 'SKU-RED-MUG', quantity: 1 }],
    });
  });

  it('sets the reason to null when the transition has none', () => {
    // Act
    const email = orderEmailOf(parseTransitionEvent(fixture('order-confirmed')), SOURCE, TEMPLATES);

    // Assess
    expect(email.templateData.reason).toBeNull();
    expect(email.templateData.total).toBe('€33.99');
  });
});

describe('sendOrderEmail', () => {
  it('sends the email and returns what was sent', async () => {
    // Prepare
    const sender = recordingSender();

    // Act
    const sent = await sendOrderEmail(parseTransitionEvent(fixture('order-confirmed')), {
      sender,
      source: SOURCE,
      templates: TEMPLATES,
    });

    // Assess
    expect(sent).toEqual({
      transitionId: '5b0e7c2a-4f1d-4c3e-9a61-0000000000a1:CONFIRMED',
      template: 'confirmed-tpl',
      messageId: 'msg-1',
    });
    expect(sender.sent).toHaveLength(1);
  });

  it('fails with TransientError and a masked address when the provider fails', async () => {
    // Prepare
    const rejection = Object.assign(
      new Error(`Email address is not verified. The following identities failed the check: ${ADDRESS}`),
      { name: 'MessageRejected' },
    );
    const sender = recordingSender(rejection);

    // Act
    const error = await sendOrderEmail(parseTransitionEvent(fixture('order-rejected')), {
      sender,
      source: SOURCE,
      templates: TEMPLATES,
    }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toBe(
      'could not send cancelled-tpl for 5b0e7c2a-4f1d-4c3e-9a61-0000000000a5:REJECTED: MessageRejected: ' +
        'Email address is not verified. The following identities failed the check: a***@example.com',
    );
  });
});
