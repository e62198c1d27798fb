/**
 * The emails the local SES (MiniStack) has sent, for the end-to-end tests, the load benchmark and anyone
 * debugging locally. MiniStack lists them at `GET /_ministack/ses/messages`, rendered, newest last, and keeps at
 * most `ORDERFLOW_EMULATOR_LOG_CAP` of them (see `ministack_bounded.py`).
 */
import { EMAIL_TEMPLATES, TEMPLATE_NAMES } from '../../shared/email-templates.js';

/** One sent email, with the order and template it was rendered for. */
export interface SentEmail {
  readonly messageId: string;
  readonly to: readonly string[];
  readonly subject: string;
  /** Epoch ms. */
  readonly sentAt: number;
  /** Template whose subject it matches, or undefined for an email not sent from an order template. */
  readonly template?: string;
  /** The order it is about, read from the rendered subject. */
  readonly orderId?: string;
}

interface MinistackMessage {
  MessageId: string;
  To?: string[];
  Subject?: string;
  Timestamp: number;
}

/** Each template's subject as a pattern capturing the orderId (`Your order {{orderId}} is confirmed`). */
const SUBJECTS = EMAIL_TEMPLATES.map((t) => ({
  template: t.TemplateName as string,
  pattern: new RegExp(
    `^${(t.SubjectPart ?? '').replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace('{{orderId}}', '(\\S+)')}$`,
  ),
}));

/**
 * Every email the emulator at `endpoint` still lists.
 *
 * @example
 * const emails = await sentEmails(stackConfig().awsEndpointUrl);
 * emails.filter((e) => e.orderId === orderId && e.template === TEMPLATE_NAMES.CONFIRMED);
 */
export async function sentEmails(endpoint: string): Promise<SentEmail[]> {
  const response = await fetch(`${endpoint}/_ministack/ses/messages`, { signal: AbortSignal.timeout(30_000) });
  if (!response.ok) throw new Error(`GET ${endpoint}/_ministack/ses/messages answered HTTP ${response.status}`);
  const body = (await response.json()) as { messages?: Record<string, MinistackMessage[]> };
  return Object.values(body.messages ?? {})
    .flat()
    .map((m): SentEmail => {
      const subject = m.Subject ?? '';
      const match = SUBJECTS.map((s) => ({ template: s.template, id: s.pattern.exec(subject)?.[1] })).find((s) => s.id);
      return {
        messageId: m.MessageId,
        to: m.To ?? [],
        subject,
        sentAt: Math.round(m.Timestamp * 1000),
        template: match?.template,
        orderId: match?.id,
      };
    });
}

export { TEMPLATE_NAMES };
