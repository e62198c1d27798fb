/** SES resources of the order emails: the sender identity and the two templates `send-order-email` renders. */
import { Arn, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ses from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';
import { EMAIL_TEMPLATES, TEMPLATE_NAMES } from '../../shared/email-templates.js';
import { emailAddressOf, stageName } from '../parameters.js';

/** Properties of `OrderEmail`. */
export interface OrderEmailProps {
  /** Sender, `orders@example.com` or `Orderflow <orders@example.com>`. */
  readonly senderEmail: string;
  /**
   * Suffix of the template names (templates are account and region wide; see `stageName`).
   *
   * @default - the names of `TEMPLATE_NAMES`
   */
  readonly stage?: string;
}

/** The verified sender and the confirmation and cancellation templates. */
export class OrderEmail extends Construct {
  /** The sender identity (SES mails a verification link to it on create). */
  readonly identity: ses.EmailIdentity;
  /** Template names, as send-order-email's CONFIRMATION_TEMPLATE / CANCELLATION_TEMPLATE. */
  readonly templateNames: Readonly<Record<keyof typeof TEMPLATE_NAMES, string>>;
  private readonly address: string;

  constructor(scope: Construct, id: string, props: OrderEmailProps) {
    super(scope, id);
    const address = emailAddressOf(props.senderEmail);
    if (!address) throw new Error(`senderEmail must be an email address, got ${JSON.stringify(props.senderEmail)}`);
    this.address = address;
    const stage = props.stage;
    this.templateNames = {
      CONFIRMED: stageName(TEMPLATE_NAMES.CONFIRMED, stage),
      CANCELLED: stageName(TEMPLATE_NAMES.CANCELLED, stage),
    };
    this.identity = new ses.EmailIdentity(this, 'sender', { identity: ses.Identity.email(address) });
    for (const template of EMAIL_TEMPLATES) {
      const { TemplateName: name, SubjectPart: subject } = template;
      if (!name || !subject)
        throw new Error(`email template needs a name and a subject, got ${JSON.stringify(template)}`);
      new ses.CfnTemplate(this, name, {
        template: {
          templateName: stageName(name, stage),
          subjectPart: subject,
          textPart: template.TextPart,
          htmlPart: template.HtmlPart,
        },
      });
    }
  }

  /** Lets `grantee` send templated mail from the sender with the two templates, and nothing else. */
  grantSendTemplated(grantee: iam.IGrantable): void {
    const stack = Stack.of(this);
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['ses:SendTemplatedEmail'],
      resourceArns: [
        Arn.format({ service: 'ses', resource: 'identity', resourceName: this.address }, stack),
        ...Object.values(this.templateNames).map((name) =>
          Arn.format({ service: 'ses', resource: 'template', resourceName: name }, stack),
        ),
      ],
    });
  }
}
