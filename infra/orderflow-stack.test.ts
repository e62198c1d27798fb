import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { TEMPLATE_NAMES } from '../shared/email-templates.js';
import { contractOf, functionEnvironment, type ResourceValues, usesKafka } from '../shared/functions.js';
import { TABLES } from '../shared/tables.js';
import {
  CONSUMERS,
  EVENT_BUS_NAME,
  EVENT_SOURCE,
  FUNCTION_NAMES,
  type FunctionName,
  RULES,
  TOPIC_SPECS,
  TOPICS,
} from '../shared/topology.js';
import { MSK_IAM_PORT } from './constructs/kafka-cluster.js';
import { REPO_ROOT } from './constructs/orderflow-function.js';
import { consumerSpecOf, kafkaMappings, producedTopics } from './kafka-topology.js';
import { functionLogicalId } from './orderflow-stack.js';
import { GLUE_MODE, type Synthesized, synthOrderflow, TEST_PARAMETERS } from './testing.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is untyped; the tests index into it freely.
type Json = Record<string, any>;

// One bundled synth for the whole file (esbuild runs once per function; Confluent mode with a registry secret), one
// unbundled on-demand variant in the default Glue mode.
let synth: Synthesized;
let resources: Record<string, Json>;
let onDemand: Synthesized;

beforeAll(() => {
  synth = synthOrderflow({ bundle: true, outdir: mkdtempSync(path.join(tmpdir(), 'orderflow-cdk-')) });
  resources = synth.template.toJSON().Resources;
  onDemand = synthOrderflow({
    bundle: false,
    context: { pollerMode: 'on-demand', webhookUrl: undefined, ...GLUE_MODE },
  });
}, 300_000);

function ofType(type: string, from: Record<string, Json> = resources): Array<[string, Json]> {
  return Object.entries(from).filter(([, r]) => r.Type === type);
}

function fnResource(name: FunctionName): Json {
  const resource = resources[functionLogicalId(name)];
  if (!resource) throw new Error(`no function resource for ${name}`);
  return resource;
}

/** Statements of every IAM policy attached to the role of `name`. */
function statementsOf(name: FunctionName, from: Record<string, Json> = resources): Json[] {
  const roleId = fnResource(name).Properties.Role['Fn::GetAtt'][0];
  return ofType('AWS::IAM::Policy', from)
    .filter(([, p]) => p.Properties.Roles.some((r: Json) => r.Ref === roleId))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
}

function asArray<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}

/** Topic or group names in the kafka ARNs (`Fn::Join` ending in `/<name>`) a statement grants `action` on. */
function kafkaNames(statements: Json[], action: string, kind: 'topic' | 'group'): string[] {
  return statements
    .filter((s) => asArray(s.Action).includes(action))
    .flatMap((s) => asArray(s.Resource))
    .map((r: Json) => r['Fn::Join']?.[1] as unknown[] | undefined)
    .filter(
      (parts): parts is unknown[] => parts?.some((p) => typeof p === 'string' && p.includes(`:${kind}/`)) === true,
    )
    .map((parts) => String(parts[parts.length - 1]).replace(/^\//, ''));
}

describe('network and cluster', () => {
  it('puts the cluster in private subnets with iam as its only authentication', () => {
    // Prepare
    const clusters = ofType('AWS::MSK::ServerlessCluster');
    const privateSubnets = ofType('AWS::EC2::Subnet')
      .filter(([, s]) => s.Properties.MapPublicIpOnLaunch === false)
      .map(([id]) => ({ Ref: id }));

    // Assess
    expect(clusters).toHaveLength(1);
    const props = clusters[0]?.[1].Properties;
    expect(props.ClientAuthentication).toEqual({ Sasl: { Iam: { Enabled: true } } });
    expect(props.VpcConfigs).toHaveLength(1);
    expect(props.VpcConfigs[0].SubnetIds).toEqual(privateSubnets);
    expect(privateSubnets).toHaveLength(2);
  });

  it('admits only the function security group and the pollers themselves, on 9098 only', () => {
    // Prepare
    const clusterSg =
      ofType('AWS::MSK::ServerlessCluster')[0]?.[1].Properties.VpcConfigs[0].SecurityGroups[0]['Fn::GetAtt'][0];
    const ingress = ofType('AWS::EC2::SecurityGroupIngress').map(([, r]) => r.Properties);
    const inline = resources[clusterSg]?.Properties.SecurityGroupIngress;

    // Assess
    expect(inline).toBeUndefined();
    const toCluster = ingress.filter((r) => r.GroupId['Fn::GetAtt'][0] === clusterSg);
    expect(toCluster).toHaveLength(2);
    for (const rule of toCluster) {
      expect(rule).toMatchObject({ IpProtocol: 'tcp', FromPort: MSK_IAM_PORT, ToPort: MSK_IAM_PORT });
      expect(rule.CidrIp).toBeUndefined();
    }
    const sources = toCluster.map((r) => r.SourceSecurityGroupId['Fn::GetAtt'][0]).sort();
    const functionSg = fnResource('order-api').Properties.VpcConfig.SecurityGroupIds[0]['Fn::GetAtt'][0];
    expect(sources).toEqual([clusterSg, functionSg].sort());
    for (const [, sg] of ofType('AWS::EC2::SecurityGroup')) {
      for (const rule of sg.Properties.SecurityGroupIngress ?? []) expect(rule.CidrIp).not.toBe('0.0.0.0/0');
    }
  });

  it('gives private subnets one nat gateway, a dynamodb gateway endpoint and rejected-traffic flow logs', () => {
    // Assess
    expect(ofType('AWS::EC2::NatGateway')).toHaveLength(1);
    synth.template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      ServiceName: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith(['.dynamodb'])]) }),
    });
    synth.template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'REJECT' });
  });
});

describe('topics and bootstrap brokers', () => {
  it('creates every topology topic through the custom resource, in the vpc', () => {
    // Prepare
    const [[, topics]] = ofType('Custom::KafkaTopics') as [[string, Json]];
    const handlerId = JSON.stringify(topics.Properties.ServiceToken);

    // Assess
    expect(JSON.parse(topics.Properties.Topics)).toEqual(
      TOPIC_SPECS.map((t) => ({ name: t.name, partitions: t.partitions, retentionMs: t.retentionMs })),
    );
    expect(topics.Properties.BootstrapBrokers).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^bootstrapbrokersgetbootstrapbrokers/), 'BootstrapBrokerStringSaslIam'],
    });
    expect(handlerId).toContain('kafkatopicsproviderframeworkonEvent');
    const handler = ofType('AWS::Lambda::Function').find(([id]) => id.startsWith('kafkatopicshandlerfunction'));
    expect(handler?.[1].Properties.VpcConfig.SubnetIds).toHaveLength(2);
    expect(handler?.[1].Properties.Timeout).toBe(14 * 60);
  });

  it('reads the bootstrap brokers with GetBootstrapBrokers on the cluster arn only', () => {
    // Prepare
    const [[id, call]] = ofType('Custom::AWS') as [[string, Json]];
    const create = JSON.stringify(call.Properties.Create);
    const policy = ofType('AWS::IAM::Policy').find(([policyId]) => policyId.startsWith(id.replace(/[A-F0-9]{8}$/, '')));

    // Assess
    expect(create).toContain('GetBootstrapBrokers');
    expect(create).toContain('BootstrapBrokerStringSaslIam');
    expect(policy?.[1].Properties.PolicyDocument.Statement).toEqual([
      expect.objectContaining({ Action: 'kafka:GetBootstrapBrokers', Resource: { Ref: expect.any(String) } }),
    ]);
  });

  it('hands the bootstrap brokers to every kafka function and to no other', () => {
    for (const name of FUNCTION_NAMES) {
      const env = fnResource(name).Properties.Environment.Variables;
      if (usesKafka(name)) {
        expect(env.KAFKA_BROKERS).toEqual({
          'Fn::GetAtt': [expect.stringMatching(/^bootstrapbrokers/), 'BootstrapBrokerStringSaslIam'],
        });
        expect(env.KAFKA_AUTH).toBe('iam');
      } else {
        expect(env.KAFKA_BROKERS).toBeUndefined();
      }
    }
  });
});

describe('functions', () => {
  it('builds every function on the newest node runtime, arm64, traced, with a log group that expires', () => {
    for (const name of FUNCTION_NAMES) {
      // Prepare
      const props = fnResource(name).Properties;
      const logGroupId = props.LoggingConfig.LogGroup.Ref;

      // Assess
      expect(props).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
      });
      expect(resources[logGroupId]?.Properties.RetentionInDays).toBe(30);
      expect(props.Environment.Variables).toMatchObject({
        POWERTOOLS_SERVICE_NAME: name,
        POWERTOOLS_METRICS_NAMESPACE: 'orderflow',
      });
    }
  });

  it('bundles each handler as minified esm without a source map, with the lambda credential chain, where sam local invoke finds it', () => {
    for (const name of FUNCTION_NAMES) {
      // Prepare
      const resource = fnResource(name);
      const assetPath: string = resource.Metadata['aws:asset:path'];
      const dir = path.join(synth.outdir, assetPath);
      const code = readFileSync(path.join(dir, 'index.mjs'), 'utf8');

      // Assess
      expect(resource.Metadata['aws:asset:property']).toBe('Code');
      expect(existsSync(path.join(dir, 'index.mjs.map'))).toBe(false);
      expect(code.startsWith("import{createRequire as __orderflowCreateRequire}from'node:module'")).toBe(true);
      expect(code).toMatch(/export\s*\{[^}]*as handler/);
      // The Lambda credential chain (shared/lambda-credentials.ts) in place of the SDK's full one.
      expect(code).toContain('orderflow bundles read no profiles');
      expect(code).not.toContain('defaultProvider::fromSSO');
      // Minified: esbuild leaves a few newlines (template literals), but lines run to thousands of characters.
      expect(code.length / code.split('\n').length).toBeGreaterThan(1000);
    }
  });

  it('sets exactly the variables the brief lists for each function', () => {
    // Prepare
    const powertools = ['POWERTOOLS_LOG_LEVEL', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_SERVICE_NAME'];
    const kafka = [
      'KAFKA_AUTH',
      'KAFKA_BROKERS',
      'GLUE_REGISTRY_NAME',
      'SCHEMA_REGISTRY',
      'SCHEMA_REGISTRY_SECRET_ARN',
      'SCHEMA_REGISTRY_URL',
    ];
    const expected: Record<FunctionName, string[]> = {
      'order-api': [...kafka, 'ORDER_STATUS_TABLE', 'IDEMPOTENCY_TABLE'],
      'validate-order': [...kafka, 'CATALOG_TABLE'],
      'reserve-inventory': [...kafka, 'INVENTORY_TABLE'],
      'process-payment': [...kafka, 'PAYMENTS_TABLE'],
      'order-status': [...kafka, 'ORDER_STATUS_TABLE', 'EVENT_BUS_NAME'],
      'order-analytics': [...kafka, 'ANALYTICS_TABLE'],
      'send-order-email': ['SENDER_EMAIL', 'IDEMPOTENCY_TABLE', 'CONFIRMATION_TEMPLATE', 'CANCELLATION_TEMPLATE'],
      'live-connections': ['LIVE_CONNECTIONS_TABLE', 'ORDER_STATUS_TABLE', 'LIVE_CALLBACK_URL'],
      'live-notifier': ['LIVE_CONNECTIONS_TABLE', 'LIVE_CALLBACK_URL'],
    };

    for (const name of FUNCTION_NAMES) {
      // Act
      const keys = Object.keys(fnResource(name).Properties.Environment.Variables).sort();

      // Assess
      const pollerMode = consumerSpecOf(name) ? ['POLLER_MODE'] : [];
      expect(keys).toEqual([...powertools, ...pollerMode, ...expected[name]].sort());
    }
  });

  it("sets each function's variables as its contract derives them, each table variable naming that table", () => {
    // Prepare
    const values: ResourceValues = {
      kafka: {
        brokers: 'brokers',
        auth: 'iam',
        schemaRegistry: 'confluent',
        glueRegistryName: 'orderflow',
        schemaRegistryUrl: TEST_PARAMETERS.schemaRegistryUrl,
        schemaRegistrySecretArn: TEST_PARAMETERS.schemaRegistrySecretArn,
      },
      pollerMode: TEST_PARAMETERS.pollerMode,
      tableName: (table) => TABLES[table].id,
      eventBusName: 'bus',
      email: {
        sender: TEST_PARAMETERS.senderEmail,
        confirmationTemplate: TEMPLATE_NAMES.CONFIRMED,
        cancellationTemplate: TEMPLATE_NAMES.CANCELLED,
      },
      liveCallbackUrl: 'https://live.example.com/live',
    };

    for (const name of FUNCTION_NAMES) {
      // Act
      const variables = fnResource(name).Properties.Environment.Variables;
      const derived = functionEnvironment(name, values);

      // Assess
      const set = Object.keys(variables).filter((key) => !key.startsWith('POWERTOOLS_'));
      expect({ name, keys: set.sort() }).toEqual({ name, keys: Object.keys(derived).sort() });
      // Literal values must be the contract's; references (brokers, tables, the bus) are checked below or elsewhere.
      for (const [key, value] of Object.entries(derived)) {
        if (typeof variables[key] === 'string') expect({ key, value: variables[key] }).toEqual({ key, value });
      }
      for (const { table } of contractOf(name).tables) {
        expect(variables[TABLES[table].env]).toEqual({
          Ref: expect.stringMatching(new RegExp(`^${TABLES[table].id.replace(/-/g, '')}table[A-F0-9]{8}$`)),
        });
      }
    }
  });

  it("gives each function its contract's timeout: a minute for kafka batches, 10 s for the api, 30 s for the email", () => {
    // Prepare
    const expected: Record<FunctionName, number> = {
      'order-api': 10,
      'validate-order': 60,
      'reserve-inventory': 60,
      'process-payment': 60,
      'order-status': 60,
      'order-analytics': 60,
      'send-order-email': 30,
      'live-connections': 10,
      'live-notifier': 30,
    };

    for (const name of FUNCTION_NAMES) {
      // Act
      const timeout = fnResource(name).Properties.Timeout;

      // Assess
      expect({ name, timeout }).toEqual({ name, timeout: contractOf(name).timeoutSeconds });
      expect({ name, timeout }).toEqual({ name, timeout: expected[name] });
    }
  });

  it('lets a function put events on the bus or send templated mail exactly when its contract uses it', () => {
    for (const name of FUNCTION_NAMES) {
      // Prepare
      const actions = statementsOf(name).flatMap((s) => asArray(s.Action) as string[]);
      const { uses } = contractOf(name);

      // Assess
      expect({ name, putEvents: actions.includes('events:PutEvents') }).toEqual({
        name,
        putEvents: uses.includes('bus:put-events'),
      });
      expect({ name, sendTemplated: actions.includes('ses:SendTemplatedEmail') }).toEqual({
        name,
        sendTemplated: uses.includes('ses:send-templated'),
      });
    }
  });

  it('keeps kafka functions in the vpc and send-order-email out of it', () => {
    for (const name of FUNCTION_NAMES) {
      expect(fnResource(name).Properties.VpcConfig !== undefined).toBe(usesKafka(name));
    }
  });

  it('grants each function exactly its tables, read-only where it only reads', () => {
    for (const name of FUNCTION_NAMES) {
      // Prepare
      const statements = statementsOf(name).filter((s) =>
        asArray(s.Action).some((a: string) => a.startsWith('dynamodb:')),
      );
      const granted = statements.flatMap((s) =>
        asArray(s.Resource)
          .filter((r: Json) => r['Fn::GetAtt'])
          .map((r: Json) => ({
            table: r['Fn::GetAtt'][0] as string,
            write: asArray(s.Action).includes('dynamodb:PutItem'),
          })),
      );
      const expected = contractOf(name).tables.map(({ table, access }) => ({
        id: TABLES[table].id,
        write: access === 'read-write',
      }));

      // Assess
      expect(granted.map((g) => g.table.replace(/table[A-F0-9]{8}$/, '')).sort()).toEqual(
        expected.map((e) => e.id.replace(/-/g, '')).sort(),
      );
      for (const grant of granted) {
        const spec = expected.find((e) => grant.table.startsWith(e.id.replace(/-/g, '')));
        expect(grant.write).toBe(spec?.write);
      }
    }
  });

  it('grants no wildcard resource except for the x-ray actions and the glue lookup by version id', () => {
    for (const [id, policy] of ofType('AWS::IAM::Policy')) {
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        if (!asArray(statement.Resource).includes('*')) continue;
        const actions = asArray(statement.Action) as string[];
        if (statement.Sid === 'GlueSchemaVersionById') {
          // Its own statement in its own policy: that one read action and nothing else.
          expect({ id, actions, statements: policy.Properties.PolicyDocument.Statement.length }).toEqual({
            id: expect.stringMatching(/^glueregistryreadbyid/),
            actions: ['glue:GetSchemaVersion'],
            statements: 1,
          });
          continue;
        }
        const allowed = actions.every(
          (a) =>
            a.startsWith('xray:') ||
            // CDK's own singletons: account-level log resource policies and retention.
            ['logs:PutResourcePolicy', 'logs:DeleteResourcePolicy'].includes(a),
        );
        expect({ actions, allowed }).toEqual({ actions, allowed: true });
      }
    }
  });
});

describe('kafka event-source mappings', () => {
  it('creates one mapping per consumer and topic, with the topology settings', () => {
    // Prepare
    const mappings = ofType('AWS::Lambda::EventSourceMapping').map(([, r]) => r);
    const expected = kafkaMappings();

    // Assess
    expect(mappings).toHaveLength(expected.length);
    for (const mapping of expected) {
      const { consumer } = mapping;
      const found = mappings.filter(
        (m) =>
          m.Properties.FunctionName.Ref === functionLogicalId(consumer.function) &&
          m.Properties.Topics[0] === mapping.topic,
      );
      expect(found).toHaveLength(1);
      expect(found[0]?.Properties).toEqual({
        FunctionName: { Ref: functionLogicalId(consumer.function) },
        EventSourceArn: expect.anything(),
        Topics: [mapping.topic],
        StartingPosition: consumer.startingPosition,
        BatchSize: consumer.batchSize,
        MaximumBatchingWindowInSeconds: consumer.batchingWindowSeconds,
        AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: mapping.groupId },
        ProvisionedPollerConfig: {
          MinimumPollers: 1,
          MaximumPollers: mapping.partitions,
          PollerGroupName: 'orderflow',
        },
        MaximumRetryAttempts: consumer.retryAttempts,
        BisectBatchOnFunctionError: consumer.bisectOnError,
        FunctionResponseTypes: consumer.reportBatchItemFailures ? ['ReportBatchItemFailures'] : undefined,
        MaximumRecordAgeInSeconds: consumer.maxRecordAgeSeconds,
        DestinationConfig: { OnFailure: { Destination: `kafka://${consumer.onFailureTopic}` } },
      });
      expect(found[0]?.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^kafkatopics[A-F0-9]{8}$/)]));
    }
  });

  it('gives every mapping its own consumer group', () => {
    // Prepare
    const groups = ofType('AWS::Lambda::EventSourceMapping').map(
      ([, r]) => r.Properties.AmazonManagedKafkaEventSourceConfig.ConsumerGroupId,
    );

    // Assess
    expect(new Set(groups).size).toBe(groups.length);
  });

  it('scopes kafka-cluster reads and group actions to the consumer topics and groups', () => {
    for (const consumer of CONSUMERS) {
      // Prepare
      const statements = statementsOf(consumer.function);
      const groups = kafkaMappings([consumer]).map((m) => m.groupId);

      // Act
      const readTopics = kafkaNames(statements, 'kafka-cluster:ReadData', 'topic');
      const alterGroups = kafkaNames(statements, 'kafka-cluster:AlterGroup', 'group');

      // Assess
      expect(readTopics.sort()).toEqual([...consumer.topics].sort());
      expect(alterGroups.sort()).toEqual(groups.sort());
    }
  });

  it('lets each function write only the topics it produces to (and the dead-letter topic)', () => {
    for (const name of FUNCTION_NAMES) {
      // Act
      const written = kafkaNames(statementsOf(name), 'kafka-cluster:WriteData', 'topic');

      // Assess
      expect(written.sort()).toEqual(producedTopics(name).sort());
    }
    expect(producedTopics('validate-order')).toContain(TOPICS.ORDERS_DLQ);
  });

  it('grants no kafka-cluster action on a wildcard', () => {
    for (const [, policy] of ofType('AWS::IAM::Policy')) {
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        if (!asArray(statement.Action).some((a: string) => a.startsWith('kafka-cluster:'))) continue;
        expect(JSON.stringify(statement.Resource)).not.toMatch(/\/\*"|"\*"/);
      }
    }
  });

  it('sends discarded batches to an encrypted sqs queue in on-demand mode, without provisioned-only settings', () => {
    // Prepare
    const odResources = onDemand.template.toJSON().Resources as Record<string, Json>;
    const mappings = ofType('AWS::Lambda::EventSourceMapping', odResources);

    // Assess
    expect(mappings).toHaveLength(kafkaMappings().length);
    for (const [, mapping] of mappings) {
      const props = mapping.Properties;
      expect(props.ProvisionedPollerConfig).toBeUndefined();
      expect(props.MaximumRetryAttempts).toBeUndefined();
      expect(props.FunctionResponseTypes).toBeUndefined();
      const queueId = props.DestinationConfig.OnFailure.Destination['Fn::GetAtt'][0];
      expect(odResources[queueId]?.Properties).toMatchObject({ SqsManagedSseEnabled: true });
    }
  });
});

describe('state and fan-out', () => {
  it('creates every table with point-in-time recovery and encryption', () => {
    // Prepare
    const tables = ofType('AWS::DynamoDB::Table');

    // Assess
    expect(tables).toHaveLength(Object.keys(TABLES).length);
    for (const [id, table] of tables) {
      const spec = Object.values(TABLES).find((t) => id.startsWith(t.id.replace(/-/g, '')));
      expect(table.Properties).toMatchObject({
        KeySchema: [{ AttributeName: spec?.partitionKey, KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      });
      expect(table.DeletionPolicy).toBe('Retain');
    }
    synth.template.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: TABLES.IDEMPOTENCY.ttlAttribute, Enabled: true },
    });
  });

  it('creates the bus, an archive and each topology rule with retries and an encrypted dead-letter queue', () => {
    // Assess
    synth.template.hasResourceProperties('AWS::Events::EventBus', { Name: EVENT_BUS_NAME });
    synth.template.hasResourceProperties('AWS::Events::Archive', {
      EventPattern: { source: [EVENT_SOURCE] },
      RetentionDays: 30,
    });
    for (const rule of RULES) {
      const [[, found]] = ofType('AWS::Events::Rule').filter(([, r]) => r.Properties.Name === rule.name) as [
        [string, Json],
      ];
      expect(found.Properties.EventPattern).toEqual({ source: [EVENT_SOURCE], 'detail-type': [...rule.detailTypes] });
      const [target] = found.Properties.Targets;
      expect(target.Arn['Fn::GetAtt'][0]).toBe(functionLogicalId(rule.target));
      expect(target.RetryPolicy).toEqual({
        MaximumRetryAttempts: rule.maxRetries,
        MaximumEventAgeInSeconds: rule.maxEventAgeSeconds,
      });
      const queueId = target.DeadLetterConfig.Arn['Fn::GetAtt'][0];
      expect(resources[queueId]?.Properties).toMatchObject({ SqsManagedSseEnabled: true });
    }
  });

  it('copies every event to an audit log group', () => {
    // Prepare
    const [[, audit]] = ofType('AWS::Events::Rule').filter(([, r]) => r.Properties.Name === 'audit') as [
      [string, Json],
    ];

    // Assess
    expect(audit.Properties.EventPattern).toEqual({ source: [EVENT_SOURCE] });
    expect(JSON.stringify(audit.Properties.Targets[0].Arn)).toContain(':logs:');
  });

  it('posts order transitions to the webhook through an api destination with its own dead-letter queue', () => {
    // Prepare
    const [[, webhook]] = ofType('AWS::Events::Rule').filter(([, r]) => r.Properties.Name === 'order-webhook') as [
      [string, Json],
    ];

    // Assess
    synth.template.hasResourceProperties('AWS::Events::ApiDestination', {
      InvocationEndpoint: TEST_PARAMETERS.webhookUrl,
      HttpMethod: 'POST',
    });
    synth.template.hasResourceProperties('AWS::Events::Connection', { AuthorizationType: 'API_KEY' });
    expect(webhook.Properties.Targets[0].DeadLetterConfig).toBeDefined();
    expect(ofType('AWS::Events::ApiDestination', onDemand.template.toJSON().Resources)).toHaveLength(0);
  });

  it('creates both email templates and the sender identity, and lets only send-order-email use them', () => {
    // Prepare
    const names = ofType('AWS::SES::Template').map(([, t]) => t.Properties.Template.TemplateName);
    const sesStatements = FUNCTION_NAMES.flatMap((name) =>
      statementsOf(name)
        .filter((s) => asArray(s.Action).some((a: string) => a.startsWith('ses:')))
        .map((s) => ({ name, s })),
    );

    // Assess
    expect(names.sort()).toEqual(Object.values(TEMPLATE_NAMES).sort());
    synth.template.hasResourceProperties('AWS::SES::EmailIdentity', { EmailIdentity: 'orders@example.com' });
    expect(sesStatements.map((x) => x.name)).toEqual(['send-order-email']);
    expect(sesStatements[0]?.s.Action).toBe('ses:SendTemplatedEmail');
  });
});

describe('live updates', () => {
  it('routes the websocket api to live-connections, with iam on $connect and route selection on the action', () => {
    // Prepare
    const websocket = ofType('AWS::ApiGatewayV2::Api').find(([, a]) => a.Properties.ProtocolType === 'WEBSOCKET');
    if (!websocket) throw new Error('no websocket api in the template');
    const [liveApi, api] = websocket;
    const routes = ofType('AWS::ApiGatewayV2::Route')
      .map(([, r]) => r.Properties)
      .filter((r) => r.ApiId?.Ref === liveApi);

    // Assess
    expect(api.Properties.RouteSelectionExpression).toBe('$request.body.action');
    expect(routes.map((r) => r.RouteKey).sort()).toEqual([
      '$connect',
      '$default',
      '$disconnect',
      'subscribe',
      'unsubscribe',
    ]);
    expect(routes.find((r) => r.RouteKey === '$connect')?.AuthorizationType).toBe('AWS_IAM');
    const integrations = ofType('AWS::ApiGatewayV2::Integration').filter(
      ([, i]) => i.Properties.ApiId?.Ref === liveApi,
    );
    const targets = new Set(integrations.map(([, i]) => JSON.stringify(i.Properties.IntegrationUri)));
    expect(targets.size).toBe(1);
    expect([...targets][0]).toContain(functionLogicalId('live-connections'));
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: { Ref: liveApi },
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
  });

  it('lets only live-connections and live-notifier manage connections, on the live stage only', () => {
    // Prepare
    const holders = ofType('AWS::IAM::Policy').flatMap(([, p]) =>
      (p.Properties.PolicyDocument.Statement as Json[])
        .filter((st) => [st.Action].flat().includes('execute-api:ManageConnections'))
        .map((st) => ({ roles: p.Properties.Roles.map((r: Json) => r.Ref), resource: JSON.stringify(st.Resource) })),
    );

    // Assess
    const roleOf = (name: FunctionName) => fnResource(name).Properties.Role['Fn::GetAtt'][0];
    expect(holders.flatMap((h) => h.roles).sort()).toEqual(
      [roleOf('live-connections'), roleOf('live-notifier')].sort(),
    );
    for (const h of holders) expect(h.resource).toContain('/live/@connections/*');
  });

  it('feeds live-notifier from the OrderStatusChanged rule and outputs the wss url', () => {
    // Assess
    synth.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: [EVENT_SOURCE], 'detail-type': ['OrderStatusChanged'] },
      Targets: [Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 300 } })],
    });
    expect(Object.keys(synth.template.toJSON().Outputs)).toEqual(
      expect.arrayContaining(['LiveUpdatesUrl', 'LiveClientPolicyArn']),
    );
  });
});

describe('order api', () => {
  it('routes both endpoints to order-api behind iam authorization', () => {
    // Prepare
    const httpApi = ofType('AWS::ApiGatewayV2::Api').find(([, a]) => a.Properties.ProtocolType === 'HTTP')?.[0];
    const routes = ofType('AWS::ApiGatewayV2::Route')
      .map(([, r]) => r.Properties)
      .filter((r) => r.ApiId?.Ref === httpApi);

    // Assess
    expect(routes.map((r) => r.RouteKey).sort()).toEqual(['GET /orders/{orderId}', 'POST /orders']);
    for (const route of routes) expect(route.AuthorizationType).toBe('AWS_IAM');
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      IntegrationUri: { 'Fn::GetAtt': [functionLogicalId('order-api'), 'Arn'] },
      PayloadFormatVersion: '2.0',
    });
  });

  it('throttles and access-logs the stage', () => {
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
    });
  });
});

describe('operations', () => {
  it('alarms on dead letters, offset lag and function errors, notifying the alarm topic', () => {
    // Prepare
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    const topics = ofType('AWS::SNS::Topic');
    const topicId = topics[0]?.[0];
    const byMetric = (name: string) => alarms.filter((a) => a.MetricName === name);

    // Assess
    expect(topics).toHaveLength(1);
    expect(byMetric('Errors')).toHaveLength(FUNCTION_NAMES.length);
    expect(byMetric('OffsetLag')).toHaveLength(CONSUMERS.length);
    // One per rule target, the webhook's, the audit log's, and each rule function's on-failure queue.
    const ruleFunctions = new Set(RULES.map((r) => r.target)).size;
    expect(byMetric('ApproximateNumberOfMessagesVisible')).toHaveLength(RULES.length + 2 + ruleFunctions);
    expect(byMetric('MessagesInPerSec')).toEqual([
      expect.objectContaining({
        Namespace: 'AWS/Kafka',
        Dimensions: expect.arrayContaining([{ Name: 'Topic', Value: TOPICS.ORDERS_DLQ }]),
      }),
    ]);
    for (const alarm of alarms) expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
    synth.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: TEST_PARAMETERS.alarmEmail,
    });
    expect(topics[0]?.[1].Properties.KmsMasterKeyId).toBeDefined();
  });

  it('draws orders per second, revenue per minute, offset lag, dead letters and errors', () => {
    // Prepare
    const [[, dashboard]] = ofType('AWS::CloudWatch::Dashboard') as [[string, Json]];
    const body = JSON.stringify(dashboard.Properties.DashboardBody);

    // Assess
    for (const title of [
      'Orders per second',
      'Revenue per minute',
      'Offset lag per consumer',
      'Dead letters',
      'Function errors',
    ]) {
      expect(body).toContain(title);
    }
    expect(body).toContain('OrderRequestsAccepted');
    expect(body).toContain('MetricName=\\\\\\"Revenue\\\\\\"');
  });
});

describe('cdk-nag', () => {
  it('reports no unacknowledged AwsSolutions finding', () => {
    // Act
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(synth.stack);

    // Assess
    expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath)}`)).toEqual(
      [],
    );
  });

  it('reports no unacknowledged AwsSolutions finding in on-demand glue mode without a webhook', () => {
    // Act
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(onDemand.stack);

    // Assess
    expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath)}`)).toEqual(
      [],
    );
  });
});

describe('sam local invoke', () => {
  it('gives every function the asset metadata sam reads its code from', () => {
    for (const name of FUNCTION_NAMES) {
      expect(fnResource(name).Metadata).toMatchObject({
        'aws:asset:path': expect.stringMatching(/^asset\./),
        'aws:asset:property': 'Code',
        'aws:asset:is-bundled': true,
      });
    }
  });

  it('has a ready event for every function under events/', () => {
    for (const name of FUNCTION_NAMES) {
      const dir = path.join(REPO_ROOT, 'events', name);
      const events = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
      expect({ name, events: events.length > 0 }).toEqual({ name, events: true });
    }
  });
});
