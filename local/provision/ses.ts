/** The SES sender identity and the order-email templates of shared/email-templates.ts, locally. */
import {
  CreateTemplateCommand,
  GetTemplateCommand,
  ListIdentitiesCommand,
  type SESClient,
  UpdateTemplateCommand,
  VerifyEmailIdentityCommand,
} from '@aws-sdk/client-ses';
import { EMAIL_TEMPLATES } from '../../shared/email-templates.js';
import type { ProvisionChange } from './change.js';

/** The verified sender identity and the two order-email templates. */
export async function provisionSes(ses: SESClient, sender: string): Promise<ProvisionChange[]> {
  const changes: ProvisionChange[] = [];
  const identities = await ses.send(new ListIdentitiesCommand({ IdentityType: 'EmailAddress' }));
  if (identities.Identities?.includes(sender)) {
    changes.push({ resource: `ses identity ${sender}`, action: 'unchanged' });
  } else {
    await ses.send(new VerifyEmailIdentityCommand({ EmailAddress: sender }));
    changes.push({ resource: `ses identity ${sender}`, action: 'created', detail: 'verified' });
  }
  for (const template of EMAIL_TEMPLATES) {
    const resource = `ses template ${template.TemplateName}`;
    let current: typeof template | undefined;
    try {
      current = (await ses.send(new GetTemplateCommand({ TemplateName: template.TemplateName }))).Template;
    } catch (error) {
      if (
        (error as Error).name !== 'TemplateDoesNotExistException' &&
        (error as Error).name !== 'TemplateDoesNotExist'
      ) {
        throw error;
      }
    }
    if (!current) {
      await ses.send(new CreateTemplateCommand({ Template: template }));
      changes.push({ resource, action: 'created' });
    } else if (
      current.SubjectPart !== template.SubjectPart ||
      current.TextPart !== template.TextPart ||
      current.HtmlPart !== template.HtmlPart
    ) {
      await ses.send(new UpdateTemplateCommand({ Template: template }));
      changes.push({ resource, action: 'updated' });
    } else {
      changes.push({ resource, action: 'unchanged' });
    }
  }
  return changes;
}
