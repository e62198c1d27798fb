/**
 * SES templates of the order emails, as provisioned into the emulator. send-order-email renders them with
 * TemplateData `{orderId, status, reason, totalCents, total, currency, items}` (Handlebars syntax).
 */
import type { Template } from '@aws-sdk/client-ses';
import { TEMPLATE_NAMES } from './template-names.js';

/** Default template names, re-exported where the templates are (defined in `shared/template-names.ts`). */
export { TEMPLATE_NAMES };

/** Sender identity verified in SES when SENDER_EMAIL is unset. */
export const DEFAULT_SENDER_EMAIL = 'orders@orderflow.local';

const itemsText = '{{#each items}}  - {{quantity}} x {{sku}}\n{{/each}}';
const itemsHtml = '<ul>{{#each items}}<li>{{quantity}} &times; {{sku}}</li>{{/each}}</ul>';

/** Both templates, in SES's shape. */
export const EMAIL_TEMPLATES: readonly Template[] = [
  {
    TemplateName: TEMPLATE_NAMES.CONFIRMED,
    SubjectPart: 'Your order {{orderId}} is confirmed',
    TextPart: `Thank you! Your order {{orderId}} is confirmed.\n\n${itemsText}\nTotal: {{total}}\n`,
    HtmlPart: `<p>Thank you! Your order <b>{{orderId}}</b> is confirmed.</p>${itemsHtml}<p>Total: {{total}}</p>`,
  },
  {
    TemplateName: TEMPLATE_NAMES.CANCELLED,
    SubjectPart: 'Your order {{orderId}} was cancelled',
    TextPart: `Your order {{orderId}} was cancelled ({{reason}}). Any payment taken has been refunded.\n\n${itemsText}`,
    HtmlPart: `<p>Your order <b>{{orderId}}</b> was cancelled ({{reason}}). Any payment taken has been refunded.</p>${itemsHtml}`,
  },
];
