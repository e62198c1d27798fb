/**
 * What only a real account would show, asserted on the synthesized template against the AWS docs (issue 9): alarm
 * delivery, on-demand networking, Kafka destination grants, webhook rotation, the audit target's dead letters, HTTP
 * API access logs, and stage-derived physical names. Templates only: no bundling.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import type { CfnElement } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { TEMPLATE_NAMES } from '../shared/email-templates.js';
import { CONSUMERS, EVENT_BUS_NAME, FUNCTION_NAMES, type FunctionName, RULES } from '../shared/topology.js';
import { consumerSpecOf } from './kafka-topology.js';
import { functionLogicalId } from './orderflow-stack.js';
import { type Synthesized, synthOrderflow } from './testing.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is untyped; the tests index into it freely.
type Json = Record<string, any>;

let provisioned: Synthesized;
let onDemand: Synthesized;
let staged: Synthesized;

beforeAll(() => {
  provisioned = synthOrderflow({ bundle: false });
  onDemand = synthOrderflow({ bundle: false, context: { pollerMode: 'on-demand' } });
  staged = synthOrderflow({ bundle: false, context: { stage: 'dev' } });
}, 300_000);

function resourcesOf(synth: Synthesized): Record<string, Json> {
  return synth.template.toJSON().Resources;
}

function ofType(synth: Synthesized, type: string): Array<[string, Json]> {
  return Object.entries(resourcesOf(synth)).filter(([, r]) => r.Type === type);
}

function asArray<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}

/** Statements of every IAM policy attached to the role of `name`. */
function roleStatements(synth: Synthesized, name: FunctionName): Json[] {
  const fn = resourcesOf(synth)[functionLogicalId(name)];
  const roleId = fn?.Properties.Role['Fn::GetAtt'][0];
  return ofType(synth, 'AWS::IAM::Policy')
    .filter(([, p]) => p.Properties.Roles.some((r: Json) => r.Ref === roleId))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
}

function clusterLogicalId(synth: Synthesized): string {
  const [[id]] = ofType(synth, 'AWS::MSK::ServerlessCluster') as [[string, Json]];
  return id;
}

const ALARM_SOURCE = {
  StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
  ArnLike: {
    'aws:SourceArn': {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':cloudwatch:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':alarm:*',
        ],
      ],
    },
  },
};

describe('alarm notifications', () => {
  it('lets cloudwatch alarms of this account and region publish to the ssl-only alarm topic', () => {
    // Prepare
    const topicId = provisioned.stack.getLogicalId(
      provisioned.stack.operations.alarmTopic.node.defaultChild as CfnElement,
    );

    // Assess
    provisioned.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          {
            Sid: 'CloudWatchAlarmsPublish',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: { Ref: topicId },
            Condition: ALARM_SOURCE,
          },
        ]),
      },
    });
  });

  it('grants cloudwatch the alarm key only for alarms of this account and region', () => {
    // Prepare
    const keyId = provisioned.stack.getLogicalId(
      provisioned.stack.operations.alarmTopic.masterKey?.node.defaultChild as CfnElement,
    );
    const statements: Json[] = resourcesOf(provisioned)[keyId]?.Properties.KeyPolicy.Statement;
    const forCloudWatch = statements.filter((s) => s.Principal?.Service === 'cloudwatch.amazonaws.com');

    // Assess
    expect(forCloudWatch).toEqual([
      {
        Sid: 'CloudWatchAlarmsUseKey',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Resource: '*',
        Condition: ALARM_SOURCE,
      },
    ]);
  });
});

describe('poller modes', () => {
  it.each(['provisioned', 'on-demand'] as const)('tells every kafka consumer the poller mode (%s)', (mode) => {
    // Prepare
    const synth = mode === 'provisioned' ? provisioned : onDemand;

    for (const name of FUNCTION_NAMES) {
      // Act
      const variables: Json = resourcesOf(synth)[functionLogicalId(name)]?.Properties.Environment.Variables;

      // Assess
      if (consumerSpecOf(name)) expect(variables.POLLER_MODE).toBe(mode);
      else expect(variables.POLLER_MODE).toBeUndefined();
    }
  });

  it('gives on-demand mappings an sqs interface endpoint that only the event pollers reach, on 443', () => {
    // Prepare
    const clusterSg =
      resourcesOf(onDemand)[clusterLogicalId(onDemand)]?.Properties.VpcConfigs[0].SecurityGroups[0]['Fn::GetAtt'][0];
    const endpoints = ofType(onDemand, 'AWS::EC2::VPCEndpoint').filter(
      ([, e]) => e.Properties.VpcEndpointType === 'Interface',
    );

    // Assess
    expect(endpoints).toHaveLength(1);
    const endpoint = endpoints[0]?.[1].Properties;
    expect(JSON.stringify(endpoint.ServiceName)).toContain('.sqs');
    expect(endpoint.PrivateDnsEnabled).toBe(true);
    expect(endpoint.SecurityGroupIds).toHaveLength(1);
    const endpointSg = endpoint.SecurityGroupIds[0]['Fn::GetAtt'][0];
    expect(resourcesOf(onDemand)[endpointSg]?.Properties.SecurityGroupIngress).toBeUndefined();
    const ingress = ofType(onDemand, 'AWS::EC2::SecurityGroupIngress')
      .map(([, r]) => r.Properties)
      .filter((r) => r.GroupId['Fn::GetAtt'][0] === endpointSg);
    expect(ingress).toEqual([
      expect.objectContaining({
        IpProtocol: 'tcp',
        FromPort: 443,
        ToPort: 443,
        SourceSecurityGroupId: { 'Fn::GetAtt': [clusterSg, 'GroupId'] },
      }),
    ]);
  });

  it('gives provisioned mappings no interface endpoint and the pollers no https egress (lambda connects them)', () => {
    // Prepare
    const clusterSg =
      resourcesOf(provisioned)[clusterLogicalId(provisioned)]?.Properties.VpcConfigs[0].SecurityGroups[0][
        'Fn::GetAtt'
      ][0];
    const odClusterSg =
      resourcesOf(onDemand)[clusterLogicalId(onDemand)]?.Properties.VpcConfigs[0].SecurityGroups[0]['Fn::GetAtt'][0];
    const httpsOut = (synth: Synthesized, sg: string) =>
      (resourcesOf(synth)[sg]?.Properties.SecurityGroupEgress ?? []).filter(
        (r: Json) => r.CidrIp === '0.0.0.0/0' && r.FromPort === 443,
      );

    // Assess
    expect(
      ofType(provisioned, 'AWS::EC2::VPCEndpoint').filter(([, e]) => e.Properties.VpcEndpointType === 'Interface'),
    ).toEqual([]);
    expect(httpsOut(provisioned, clusterSg)).toEqual([]);
    expect(httpsOut(onDemand, odClusterSg)).toHaveLength(1);
  });
});

describe('kafka destination permissions', () => {
  it('lets provisioned consumers describe the cluster and describe and write their on-failure topic', () => {
    for (const consumer of CONSUMERS) {
      // Prepare
      const statements = roleStatements(provisioned, consumer.function);
      const clusterRef = { Ref: clusterLogicalId(provisioned) };
      const onCluster = statements.filter((s) =>
        asArray(s.Resource).some((r) => JSON.stringify(r) === JSON.stringify(clusterRef)),
      );
      const onDlqTopic = statements.filter((s) =>
        asArray(s.Resource).some((r: Json) => {
          const parts = r['Fn::Join']?.[1] as unknown[] | undefined;
          return parts?.some((p) => typeof p === 'string' && p.endsWith(`/${consumer.onFailureTopic}`)) === true;
        }),
      );

      // Assess
      expect(onCluster.flatMap((s) => asArray(s.Action))).toContain('kafka-cluster:DescribeCluster');
      const topicActions = onDlqTopic.flatMap((s) => asArray(s.Action));
      expect(topicActions).toEqual(expect.arrayContaining(['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData']));
    }
  });

  it.each(['provisioned', 'on-demand'] as const)(
    'grants no action that does not apply to serverless clusters (%s)',
    (mode) => {
      // Prepare
      const synth = mode === 'provisioned' ? provisioned : onDemand;
      const actions = ofType(synth, 'AWS::IAM::Policy').flatMap(([, p]) =>
        p.Properties.PolicyDocument.Statement.flatMap((s: Json) => asArray(s.Action)),
      );

      // Assess
      expect(actions).not.toContain('kafka-cluster:DescribeClusterDynamicConfiguration');
      expect(actions).not.toContain('kafka-cluster:AlterCluster');
    },
  );
});

describe('webhook token rotation', () => {
  it('reads the token from the secret and names the connection to update after a rotation', () => {
    // Prepare
    const fanout = provisioned.stack.fanout;
    const secretId = provisioned.stack.getLogicalId(fanout.webhookSecret?.node.defaultChild as CfnElement);
    const [[connectionId, connectionResource]] = ofType(provisioned, 'AWS::Events::Connection') as [[string, Json]];
    const connection = connectionResource.Properties;

    // Assess
    expect(connection.AuthParameters.ApiKeyAuthParameters).toEqual({
      ApiKeyName: 'x-orderflow-token',
      ApiKeyValue: { 'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: secretId }, ':SecretString:::}}']] },
    });
    provisioned.template.hasOutput('WebhookConnectionName', { Value: { Ref: connectionId } });
    provisioned.template.hasOutput('WebhookTokenSecretArn', { Value: { Ref: secretId } });
  });
});

describe('audit log and access logs', () => {
  it('retries audit deliveries and dead-letters what still fails', () => {
    // Prepare
    const [[, rule]] = ofType(provisioned, 'AWS::Events::Rule').filter(([, r]) => r.Properties.Name === 'audit') as [
      [string, Json],
    ];
    const dlqId = provisioned.stack.getLogicalId(
      provisioned.stack.fanout.deadLetterQueues.audit?.node.defaultChild as CfnElement,
    );

    // Assess
    expect(rule.Properties.Targets).toHaveLength(1);
    expect(rule.Properties.Targets[0]).toMatchObject({
      RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 },
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlqId, 'Arn'] } },
    });
    provisioned.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
    });
  });

  it('keeps an event whose asynchronous invocations failed in an alarmed on-failure queue', () => {
    // Prepare: EventBridge invokes each rule's function asynchronously.
    const targets = [...new Set(RULES.map((r) => r.target))];

    // Assess
    for (const target of targets) {
      const queueId = provisioned.stack.getLogicalId(
        provisioned.stack.fanout.deadLetterQueues[`${target}-async`]?.node.defaultChild as CfnElement,
      );
      provisioned.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: functionLogicalId(target) },
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 6 * 60 * 60,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
      });
      provisioned.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
      });
      const sends = roleStatements(provisioned, target).filter((st) => asArray(st.Action).includes('sqs:SendMessage'));
      expect(sends.map((st) => st.Resource)).toEqual([{ 'Fn::GetAtt': [queueId, 'Arn'] }]);
    }
  });

  it('logs the http api route key, not the rest-only resource path', () => {
    // Prepare
    const [[, stage]] = ofType(provisioned, 'AWS::ApiGatewayV2::Stage') as [[string, Json]];
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format);

    // Assess
    expect(format.routeKey).toBe('$context.routeKey');
    expect(stage.Properties.AccessLogSettings.Format).not.toContain('resourcePath');
  });
});

describe('source maps', () => {
  it('runs no function with --enable-source-maps', () => {
    for (const [, fn] of ofType(provisioned, 'AWS::Lambda::Function')) {
      // Assess
      expect(fn.Properties.Environment?.Variables?.NODE_OPTIONS ?? '').not.toContain('--enable-source-maps');
    }
  });
});

/** Every literal physical name in the template: the properties that name a resource account- or bus-wide. */
function physicalNames(synth: Synthesized): string[] {
  const names: string[] = [];
  for (const [, r] of Object.entries(resourcesOf(synth))) {
    const p = r.Properties ?? {};
    const candidates = [
      p.ClusterName,
      r.Type === 'AWS::Events::EventBus' || r.Type === 'AWS::Events::Rule' || r.Type === 'AWS::ApiGatewayV2::Api'
        ? p.Name
        : undefined,
      p.DashboardName,
      p.Template?.TemplateName,
      p.LogGroupName,
      p.ProvisionedPollerConfig?.PollerGroupName,
      p.QueueName,
      p.TopicName,
      p.FunctionName,
      p.RoleName,
      p.TableName,
      p.AlarmName,
      r.Type === 'AWS::Glue::Registry' ? p.Name : undefined,
      r.Type === 'Custom::GlueSchema' ? p.RegistryName : undefined,
    ];
    for (const name of candidates) if (typeof name === 'string') names.push(name);
  }
  return names;
}

describe('stage', () => {
  it("keeps today's names without a stage", () => {
    // Prepare
    const names = physicalNames(provisioned);

    // Assess
    expect(provisioned.stack.stackName).toBe('Orderflow');
    expect(new Set(names)).toEqual(
      new Set([
        'orderflow',
        'orderflow-live',
        EVENT_BUS_NAME,
        `/aws/events/${EVENT_BUS_NAME}-audit`,
        'audit',
        'order-webhook',
        ...RULES.map((r) => r.name),
        ...Object.values(TEMPLATE_NAMES),
      ]),
    );
  });

  it('suffixes every physical name and the stack name with the stage', () => {
    // Prepare
    const names = physicalNames(staged);
    const email = resourcesOf(staged)[functionLogicalId('send-order-email')]?.Properties.Environment.Variables;

    // Assess
    expect(staged.stack.stackName).toBe('Orderflow-dev');
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(name).toMatch(/-dev(-|$)/);
    expect(email.CONFIRMATION_TEMPLATE).toBe(`${TEMPLATE_NAMES.CONFIRMED}-dev`);
    expect(email.CANCELLATION_TEMPLATE).toBe(`${TEMPLATE_NAMES.CANCELLED}-dev`);
    staged.template.hasResourceProperties('AWS::Events::EventBus', { Name: `${EVENT_BUS_NAME}-dev` });
    staged.template.hasOutput('DashboardName', { Value: { Ref: Match.anyValue() } });
  });
});
