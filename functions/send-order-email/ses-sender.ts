/** SES behind the `EmailSender` port of send-order-email. */
import { type SESClient, SendTemplatedEmailCommand } from '@aws-sdk/client-ses';
import type { EmailSender } from './send-order-email.js';

/** SES as an `EmailSender` (SendTemplatedEmail; the template must exist in the sending region). */
export function sesEmailSender(client: SESClient): EmailSender {
  return {
    send: async (email) => {
      const result = await client.send(
        new SendTemplatedEmailCommand({
          Source: email.source,
          Destination: { ToAddresses: [email.to] },
          Template: email.template,
          TemplateData: JSON.stringify(email.templateData),
        }),
      );
      return { messageId: result.MessageId ?? '' };
    },
  };
}
