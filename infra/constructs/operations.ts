/**
 * What an operator watches: a dashboard (orders per second, revenue per minute, offset lag per consumer,
 * dead-letter depth, errors) and alarms (dead letters, offset lag, function errors) mailed through SNS.
 */
import { Arn, ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from './orderflow-function.js';

/** Properties of `Operations`. */
export interface OperationsProps {
  /** Every function, by name. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** Functions fed by Kafka event-source mappings (they have an offset lag). */
  readonly consumers: readonly string[];
  /** SQS dead-letter queues, by a short name used in alarm ids. */
  readonly deadLetterQueues: Readonly<Record<string, sqs.IQueue>>;
  /** MSK cluster name and dead-letter topic, for the topic's MessagesInPerSec. */
  readonly clusterName: string;
  readonly deadLetterTopic: string;
  /** Where alarms are mailed. */
  readonly alarmEmail: string;
  /**
   * Dashboard name (account and region wide).
   *
   * @default 'orderflow'
   */
  readonly dashboardName?: string;
  /**
   * Offset lag (records) above which a consumer alarms.
   *
   * @default 1000
   */
  readonly offsetLagThreshold?: number;
}

/** Dashboard, alarms and the alarm topic. */
export class Operations extends Construct {
  /** SNS topic every alarm notifies. */
  readonly alarmTopic: sns.Topic;
  /** The dashboard. */
  readonly dashboard: cloudwatch.Dashboard;
  /** Every alarm, by construct id. */
  readonly alarms: Record<string, cloudwatch.Alarm> = {};

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    const key = new kms.Key(this, 'alarm-topic-key', {
      description: 'orderflow alarm topic',
      enableKeyRotation: true,
      // `cdk destroy` schedules the key for deletion instead of leaving an orphan that bills $1 a month.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    // CloudWatch publishes alarm notifications as the service principal, so both the key policy and the topic policy
    // must allow it (the enforceSSL statement makes the topic policy explicit, which replaces SNS's default policy).
    // Both grants are limited to this account's alarms in this region, against the confused deputy:
    // https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourcearn
    const stack = Stack.of(this);
    const cloudWatchService = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
    const fromOurAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: {
        'aws:SourceArn': Arn.format(
          { service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME },
          stack,
        ),
      },
    };
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsUseKey',
        principals: [cloudWatchService],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromOurAlarms,
      }),
    );
    this.alarmTopic = new sns.Topic(this, 'alarm-topic', {
      displayName: 'orderflow alarms',
      masterKey: key,
      enforceSSL: true,
    });
    this.alarmTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [cloudWatchService],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: fromOurAlarms,
      }),
    );
    this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    const notify = new actions.SnsAction(this.alarmTopic);

    const fiveMinutes = Duration.minutes(5);
    const add = (alarmId: string, alarmProps: cloudwatch.AlarmProps) => {
      const alarm = new cloudwatch.Alarm(this, alarmId, alarmProps);
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
      this.alarms[alarmId] = alarm;
    };

    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      add(`${name}-dlq-not-empty`, {
        alarmDescription: `events for ${name} landed in its dead-letter queue`,
        metric: queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1) }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    const deadLetterTopicIn = new cloudwatch.Metric({
      namespace: 'AWS/Kafka',
      metricName: 'MessagesInPerSec',
      dimensionsMap: { 'Cluster Name': props.clusterName, Topic: props.deadLetterTopic },
      statistic: 'Maximum',
      period: fiveMinutes,
    });
    add('kafka-dlq-not-empty', {
      alarmDescription: `records were written to ${props.deadLetterTopic}`,
      metric: deadLetterTopicIn,
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const offsetLag = (name: string) =>
      this.fn(props, name).metric('OffsetLag', { statistic: 'Maximum', period: Duration.minutes(1), label: name });
    for (const name of props.consumers) {
      add(`${name}-offset-lag`, {
        alarmDescription: `${name} is falling behind its topics`,
        metric: this.fn(props, name).metric('OffsetLag', { statistic: 'Maximum', period: fiveMinutes }),
        threshold: props.offsetLagThreshold ?? 1000,
        evaluationPeriods: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    for (const name of Object.keys(props.functions)) {
      add(`${name}-errors`, {
        alarmDescription: `${name} invocations failed`,
        metric: this.fn(props, name).metricErrors({ statistic: 'Sum', period: fiveMinutes }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }

    const accepted = new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: 'OrderRequestsAccepted',
      dimensionsMap: { service: 'order-api' },
      statistic: 'Sum',
      period: Duration.minutes(1),
    });
    this.dashboard = new cloudwatch.Dashboard(this, 'dashboard', {
      dashboardName: props.dashboardName ?? 'orderflow',
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Orders per second',
        left: [
          new cloudwatch.MathExpression({
            expression: 'accepted / PERIOD(accepted)',
            usingMetrics: { accepted },
            label: 'orders/s',
            period: Duration.minutes(1),
          }),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Revenue per minute (cents, by currency)',
        left: [
          new cloudwatch.MathExpression({
            expression: `SEARCH('{${METRICS_NAMESPACE},currency,service} MetricName="Revenue" service="order-analytics"', 'Sum', 60)`,
            usingMetrics: {},
            label: '',
            period: Duration.minutes(1),
          }),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Offset lag per consumer',
        left: props.consumers.map(offsetLag),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Dead letters',
        left: Object.entries(props.deadLetterQueues).map(([name, q]) =>
          q.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', label: `${name} dlq depth` }),
        ),
        right: [deadLetterTopicIn.with({ label: `${props.deadLetterTopic} messages in/s` })],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Function errors',
        left: Object.keys(props.functions).map((name) =>
          this.fn(props, name).metricErrors({ statistic: 'Sum', period: Duration.minutes(1), label: name }),
        ),
        width: 24,
      }),
    );
  }

  private fn(props: OperationsProps, name: string): lambda.IFunction {
    const fn = props.functions[name];
    if (!fn) throw new Error(`operations: no function named ${JSON.stringify(name)}`);
    return fn;
  }
}
