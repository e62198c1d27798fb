/**
 * The EventBridge side: the `orderflow` bus, one rule per topology rule (retry policy and an encrypted SQS
 * dead-letter queue per target), an archive for replay, an audit log of every event, and an optional webhook.
 */
import { Duration, RemovalPolicy, SecretValue } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  EVENT_BUS_NAME,
  EVENT_SOURCE,
  FINAL_BUS_DETAIL_TYPES,
  type FunctionName,
  type RuleSpec,
} from '../../shared/topology.js';
import { stageName } from '../parameters.js';

/** Properties of `OrderFanout`. */
export interface OrderFanoutProps {
  /**
   * Bus name; the audit log group is named after it.
   *
   * @default EVENT_BUS_NAME
   */
  readonly busName?: string;
  /**
   * Suffix of every rule name (see `stageName`).
   *
   * @default - the topology's rule names
   */
  readonly stage?: string;
  /**
   * HTTPS endpoint receiving every final order status.
   *
   * @default - no webhook
   */
  readonly webhookUrl?: string;
  /**
   * How long the archive keeps events for replay.
   *
   * @default Duration.days(30)
   */
  readonly archiveRetention?: Duration;
}

/** An encrypted dead-letter queue for an EventBridge target. */
export function targetDeadLetterQueue(scope: Construct, id: string): sqs.Queue {
  return new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
}

/** Bus, rules, per-target dead-letter queues, archive, audit log and webhook. */
export class OrderFanout extends Construct {
  /** The `orderflow` bus. */
  readonly bus: events.EventBus;
  /** Dead-letter queue of each rule target, by rule name (`order-webhook` for the webhook). */
  readonly deadLetterQueues: Record<string, sqs.Queue> = {};
  /** Log group receiving every event on the bus. */
  readonly auditLogGroup: logs.LogGroup;
  /** Secret the webhook receiver checks in the `x-orderflow-token` header, when a webhook is set. */
  readonly webhookSecret?: secretsmanager.Secret;
  /**
   * The connection that sends the token. It keeps its own copy of the token (read from `webhookSecret` when
   * CloudFormation creates or updates it), so a rotation updates the secret and then the connection.
   */
  readonly webhookConnection?: events.Connection;
  private readonly stage?: string;

  constructor(scope: Construct, id: string, props: OrderFanoutProps) {
    super(scope, id);
    this.stage = props.stage;
    const busName = props.busName ?? EVENT_BUS_NAME;
    this.bus = new events.EventBus(this, 'bus', { eventBusName: busName });
    this.bus.archive('archive', {
      description: 'every orderflow event, for replay',
      eventPattern: { source: [EVENT_SOURCE] },
      retention: props.archiveRetention ?? Duration.days(30),
    });

    this.auditLogGroup = new logs.LogGroup(this, 'audit-logs', {
      // EventBridge writes only to log groups under /aws/events/.
      logGroupName: `/aws/events/${busName}-audit`,
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const auditDeadLetterQueue = targetDeadLetterQueue(this, 'audit-dlq');
    this.deadLetterQueues.audit = auditDeadLetterQueue;
    new events.Rule(this, 'audit', {
      eventBus: this.bus,
      ruleName: stageName('audit', props.stage),
      description: 'copies every orderflow event to CloudWatch Logs',
      eventPattern: { source: [EVENT_SOURCE] },
      targets: [
        new targets.CloudWatchLogGroup(this.auditLogGroup, {
          installLatestAwsSdk: false,
          retryAttempts: 8,
          maxEventAge: Duration.hours(2),
          deadLetterQueue: auditDeadLetterQueue,
        }),
      ],
    });

    if (props.webhookUrl) {
      this.webhookSecret = new secretsmanager.Secret(this, 'webhook-token', {
        description: 'value of the x-orderflow-token header on orderflow webhook calls',
        generateSecretString: { excludePunctuation: true, passwordLength: 40 },
      });
      // The connection copies the token into its own secret when CloudFormation creates or updates it; a later
      // put-secret-value does not reach it (and does not change the template), so rotation ends with
      // `aws events update-connection` (README, "Rotating the webhook token").
      const connection = new events.Connection(this, 'webhook-connection', {
        description: 'orderflow webhook',
        authorization: events.Authorization.apiKey(
          'x-orderflow-token',
          SecretValue.secretsManager(this.webhookSecret.secretArn),
        ),
      });
      this.webhookConnection = connection;
      const destination = new events.ApiDestination(this, 'webhook', {
        connection,
        endpoint: props.webhookUrl,
        httpMethod: events.HttpMethod.POST,
        rateLimitPerSecond: 10,
        description: 'orderflow order transitions',
      });
      const deadLetterQueue = targetDeadLetterQueue(this, 'order-webhook-dlq');
      this.deadLetterQueues['order-webhook'] = deadLetterQueue;
      new events.Rule(this, 'order-webhook', {
        eventBus: this.bus,
        ruleName: stageName('order-webhook', props.stage),
        eventPattern: { source: [EVENT_SOURCE], detailType: [...FINAL_BUS_DETAIL_TYPES] },
        targets: [
          new targets.ApiDestination(destination, {
            retryAttempts: 8,
            maxEventAge: Duration.hours(2),
            deadLetterQueue,
          }),
        ],
      });
    }
  }

  /** Adds the topology's rules, each invoking its function with a retry policy and its own dead-letter queue. */
  addRules(rules: readonly RuleSpec[], functions: Readonly<Partial<Record<FunctionName, lambda.IFunction>>>): void {
    const targeted = new Set<FunctionName>();
    for (const spec of rules) {
      const fn = functions[spec.target];
      if (!fn) throw new Error(`rule ${spec.name} targets function ${spec.target}, which the stack does not define`);
      if (!targeted.has(spec.target)) {
        targeted.add(spec.target);
        this.catchAsyncFailures(spec.target, fn);
      }
      const deadLetterQueue = targetDeadLetterQueue(this, `${spec.name}-dlq`);
      this.deadLetterQueues[spec.name] = deadLetterQueue;
      new events.Rule(this, spec.name, {
        eventBus: this.bus,
        ruleName: stageName(spec.name, this.stage),
        eventPattern: { source: [EVENT_SOURCE], detailType: [...spec.detailTypes] },
        targets: [
          new targets.LambdaFunction(fn, {
            retryAttempts: spec.maxRetries,
            maxEventAge: Duration.seconds(spec.maxEventAgeSeconds),
            deadLetterQueue,
          }),
        ],
      });
    }
  }

  /**
   * EventBridge invokes a rule's function asynchronously: once Lambda accepted the event, the rule's dead-letter
   * queue never sees it again, and an invocation whose retries fail would be dropped. Lambda's on-failure
   * destination keeps it (an invocation record with the event,
   * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html), in an alarmed queue.
   */
  private catchAsyncFailures(name: FunctionName, fn: lambda.IFunction): void {
    const failures = targetDeadLetterQueue(this, `${name}-async-failures`);
    this.deadLetterQueues[`${name}-async`] = failures;
    fn.configureAsyncInvoke({
      onFailure: new destinations.SqsDestination(failures),
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
    });
  }
}
