/**
 * The orderflow stack: VPC and MSK Serverless, topics and bootstrap brokers, one function per `FUNCTION_NAMES`
 * entry with the Kafka event-source mappings of `CONSUMERS`, DynamoDB tables from `TABLES`, the EventBridge
 * fan-out of `RULES`, SES, the order API, and the dashboard and alarms. Every name comes from `shared/`; each
 * function's variables, grants and timeout come from its contract (`FUNCTIONS` in `shared/functions.ts`).
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { KafkaDlq, ManagedKafkaEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { topicReaderSchema } from '../shared/codec.js';
import {
  contractOf,
  functionEnvironment,
  type ResourceUse,
  type ResourceValues,
  type TableKey,
  usesKafka,
} from '../shared/functions.js';
import { eventTopics } from '../shared/schema-registry.js';
import { TABLES, type TableSpec } from '../shared/tables.js';
import {
  CONSUMERS,
  EVENT_BUS_NAME,
  FUNCTION_NAMES,
  type FunctionName,
  RULES,
  TOPIC_SPECS,
  TOPICS,
  valueSubject,
} from '../shared/topology.js';
import { GlueSchemas } from './constructs/glue-schemas.js';
import { KafkaCluster } from './constructs/kafka-cluster.js';
import { BootstrapBrokers, KafkaTopics } from './constructs/kafka-topics.js';
import { LiveUpdatesApi } from './constructs/live-updates.js';
import { Operations } from './constructs/operations.js';
import { OrderEmail } from './constructs/order-email.js';
import { OrderFanout, targetDeadLetterQueue } from './constructs/order-fanout.js';
import { OrderHttpApi } from './constructs/order-http-api.js';
import { OrderflowFunction } from './constructs/orderflow-function.js';
import { consumerSpecOf, kafkaMappings, producedTopics } from './kafka-topology.js';
import { type OrderflowParameters, stageName } from './parameters.js';

/** `order-api` -> `OrderApiFunction`: the logical id `sam local invoke` takes. */
export function functionLogicalId(name: FunctionName): string {
  return `${name.replace(/(^|-)([a-z])/g, (_m, _dash: string, c: string) => c.toUpperCase())}Function`;
}

/** Properties of the orderflow stack. */
export interface OrderflowStackProps extends StackProps {
  /** Validated deploy-time parameters. */
  readonly parameters: OrderflowParameters;
  /**
   * MSK Serverless cluster name.
   *
   * @default - `orderflow`, suffixed with the stage when there is one
   */
  readonly clusterName?: string;
  /**
   * Handler module per function, relative to the repository root (tests point a missing function at a stub).
   *
   * @default - `functions/<name>/handler.ts`
   */
  readonly entries?: Partial<Record<FunctionName, string>>;
}

/** Everything orderflow runs on in AWS. */
export class OrderflowStack extends Stack {
  /** Every function, by name. */
  readonly functions: Record<FunctionName, lambda.Function>;
  /** Every table, by `TABLES` key. */
  readonly tables: Record<TableKey, dynamodb.Table>;
  /** The network. */
  readonly vpc: ec2.Vpc;
  /** MSK Serverless and its grants. */
  readonly kafka: KafkaCluster;
  /** Topic-creating custom resource. */
  readonly topics: KafkaTopics;
  /** The AWS Glue registry and the event topics' value schemas (in every registry mode, see `registryValues`). */
  readonly glueSchemas: GlueSchemas;
  /** Bus, rules and webhook. */
  readonly fanout: OrderFanout;
  /** The order API. */
  readonly api: OrderHttpApi;
  /** The live order-updates WebSocket API. */
  readonly live: LiveUpdatesApi;
  /** Dashboard and alarms. */
  readonly operations: Operations;
  /** SQS on-failure queues of the Kafka mappings (on-demand poller mode only), by `<function>-mapping`. */
  readonly mappingDeadLetterQueues: Record<string, sqs.Queue> = {};

  constructor(scope: Construct, id: string, props: OrderflowStackProps) {
    // The construct id stays (it names cdk.out/<id>.template.json); a stage renames the deployed stack.
    super(scope, id, {
      ...props,
      stackName: props.stackName ?? (props.parameters.stage && stageName(id, props.parameters.stage)),
    });
    const params = props.parameters;
    const named = (base: string) => stageName(base, params.stage);
    const onDemand = params.pollerMode === 'on-demand';

    // One NAT gateway: the functions call AWS APIs (Glue, EventBridge, SES, Secrets Manager, X-Ray) and, in Confluent
    // mode, a schema registry on the internet; DynamoDB goes through a free gateway endpoint. Why no interface
    // endpoints (not even Glue's): docs/deploying.md, "Why a NAT gateway and not VPC endpoints".
    this.vpc = new ec2.Vpc(this, 'vpc', {
      maxAzs: 2,
      natGateways: 1,
      restrictDefaultSecurityGroup: true,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
      ],
      gatewayEndpoints: { dynamodb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB } },
    });
    this.vpc.addFlowLog('flow-logs', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(this, 'flow-logs-group', {
          retention: logs.RetentionDays.ONE_MONTH,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
      ),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });

    this.kafka = new KafkaCluster(this, 'kafka', {
      vpc: this.vpc,
      clusterName: props.clusterName ?? named('orderflow'),
      onDemandPollers: onDemand,
    });
    if (onDemand) {
      // The SQS on-failure destinations of on-demand mappings are written from the cluster's VPC.
      this.kafka.addPollerEndpoint('sqs-endpoint', ec2.InterfaceVpcEndpointAwsService.SQS);
    }
    if (params.schemaRegistryUrl) this.kafka.allowRegistryPort(registryPort(params.schemaRegistryUrl));
    const brokers = new BootstrapBrokers(this, 'bootstrap-brokers', { cluster: this.kafka });
    this.topics = new KafkaTopics(this, 'kafka-topics', {
      cluster: this.kafka,
      bootstrapBrokers: brokers.brokers,
      vpc: this.vpc,
      topics: TOPIC_SPECS,
    });

    // The Glue registry exists in both registry modes: it costs nothing, and with it every consumer reads
    // Glue-framed records even while the writer is Confluent, so a switch in either direction loses no record.
    this.glueSchemas = new GlueSchemas(this, 'glue-registry', {
      registryName: named('orderflow'),
      schemas: eventTopics().map((topic) => ({
        name: valueSubject(topic),
        definition: JSON.stringify(topicReaderSchema(topic)),
      })),
      compatibility: 'BACKWARD',
    });

    this.tables = Object.fromEntries(
      (Object.entries(TABLES) as Array<[TableKey, TableSpec]>).map(([key, spec]) => [key, this.table(spec)]),
    ) as Record<TableKey, dynamodb.Table>;

    this.fanout = new OrderFanout(this, 'fanout', {
      webhookUrl: params.webhookUrl,
      busName: named(EVENT_BUS_NAME),
      stage: params.stage,
    });
    const email = new OrderEmail(this, 'email', { senderEmail: params.senderEmail, stage: params.stage });
    this.live = new LiveUpdatesApi(this, 'live-updates', { apiName: named('orderflow-live') });

    // The registry credentials stay in Secrets Manager: the Kafka functions get the secret's ARN and read it at
    // cold start (shared/secrets.ts), so GetFunctionConfiguration shows nothing secret. Read is granted on that
    // secret only: a complete ARN (with Secrets Manager's 6-character suffix) as it is, a partial one as
    // `<arn>-??????`, which is how CDK grants on each.
    const registrySecretArn = params.schemaRegistrySecretArn;
    const registrySecret = registrySecretArn
      ? /-[A-Za-z0-9]{6}$/.test(registrySecretArn)
        ? secretsmanager.Secret.fromSecretCompleteArn(this, 'registry-secret', registrySecretArn)
        : secretsmanager.Secret.fromSecretPartialArn(this, 'registry-secret', registrySecretArn)
      : undefined;

    // Where the contracts' resources are in this stack; each function gets the variables of what it uses.
    const resources: ResourceValues = {
      kafka: {
        brokers: brokers.brokers,
        auth: 'iam',
        schemaRegistry: params.schemaRegistry,
        glueRegistryName: this.glueSchemas.registryName,
        schemaRegistryUrl: params.schemaRegistryUrl,
        schemaRegistrySecretArn: registrySecretArn,
      },
      pollerMode: params.pollerMode,
      tableName: (table: TableKey) => this.tables[table].tableName,
      eventBusName: this.fanout.bus.eventBusName,
      email: {
        sender: params.senderEmail,
        confirmationTemplate: email.templateNames.CONFIRMED,
        cancellationTemplate: email.templateNames.CANCELLED,
      },
      liveCallbackUrl: this.live.callbackUrl,
    };
    // The grant behind each resource use of a contract.
    const grantUse: Record<ResourceUse, (fn: lambda.IFunction) => void> = {
      'bus:put-events': (fn) => this.fanout.bus.grantPutEventsTo(fn),
      'ses:send-templated': (fn) => email.grantSendTemplated(fn),
      'live:post-to-connection': (fn) => this.live.grantManageConnections(fn),
    };

    const functions: Partial<Record<FunctionName, lambda.Function>> = {};
    for (const name of FUNCTION_NAMES) {
      const contract = contractOf(name);
      const kafka = usesKafka(name);
      const built = new OrderflowFunction(this, name, {
        serviceName: name,
        entry: props.entries?.[name] ?? `functions/${name}/handler.ts`,
        environment: functionEnvironment(name, resources),
        vpc: kafka ? this.vpc : undefined,
        securityGroups: kafka ? [this.kafka.clientSecurityGroup] : undefined,
        timeout: Duration.seconds(contract.timeoutSeconds),
        logicalId: functionLogicalId(name),
      });
      const fn = built.function;
      functions[name] = fn;

      for (const { table, access } of contract.tables) {
        if (access === 'read-write') this.tables[table].grantReadWriteData(fn);
        else this.tables[table].grantReadData(fn);
      }
      if (kafka) {
        registrySecret?.grantRead(fn);
        this.glueSchemas.grantRead(fn);
        // A changed schema is registered (and an incompatible one fails the deploy) before any code writes it.
        for (const schema of Object.values(this.glueSchemas.schemas)) fn.node.addDependency(schema);
        // Like the role's default policy, the shared by-id read policy exists before the function runs (and so
        // before its mappings start polling).
        fn.node.defaultChild?.node.addDependency(this.glueSchemas.readByIdPolicy);
      }
      const produced = producedTopics(name);
      if (produced.length > 0) this.kafka.grantProduce(fn, produced);
      for (const use of contract.uses) grantUse[use](fn);
    }
    this.functions = functions as Record<FunctionName, lambda.Function>;

    for (const consumer of CONSUMERS) this.addKafkaMappings(consumer.function, params);
    this.fanout.addRules(RULES, this.functions);
    for (const name of FUNCTION_NAMES)
      if (contractOf(name).trigger === 'websocket') this.live.route(this.functions[name]);

    this.api = new OrderHttpApi(this, 'order-http-api', {
      handler: this.functions['order-api'],
      apiName: named('orderflow'),
    });

    this.operations = new Operations(this, 'operations', {
      functions: this.functions,
      consumers: CONSUMERS.map((c) => c.function),
      deadLetterQueues: { ...this.fanout.deadLetterQueues, ...this.mappingDeadLetterQueues },
      clusterName: this.kafka.clusterName,
      deadLetterTopic: TOPICS.ORDERS_DLQ,
      alarmEmail: params.alarmEmail,
      dashboardName: named('orderflow'),
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'order API base url (SigV4, execute-api)' });
    new CfnOutput(this, 'ApiClientPolicyArn', {
      value: this.api.clientPolicy.managedPolicyArn,
      description: 'attach to the principals allowed to call the order API',
    });
    new CfnOutput(this, 'LiveUpdatesUrl', {
      value: this.live.url,
      description: 'live order updates (wss, SigV4-presigned $connect; protocol in shared/live-protocol.ts)',
    });
    new CfnOutput(this, 'LiveClientPolicyArn', {
      value: this.live.clientPolicy.managedPolicyArn,
      description: 'attach to the principals allowed to open live-update connections',
    });
    new CfnOutput(this, 'ClusterArn', { value: this.kafka.clusterArn });
    new CfnOutput(this, 'BootstrapBrokers', { value: brokers.brokers });
    new CfnOutput(this, 'DashboardName', { value: this.operations.dashboard.dashboardName });
    new CfnOutput(this, 'PollerMode', { value: params.pollerMode });
    new CfnOutput(this, 'SchemaRegistry', {
      value: params.schemaRegistry,
      description: 'registry new records are written with (glue or confluent)',
    });
    new CfnOutput(this, 'GlueRegistryName', { value: this.glueSchemas.registryName });
    if (this.fanout.webhookSecret) {
      new CfnOutput(this, 'WebhookTokenSecretArn', { value: this.fanout.webhookSecret.secretArn });
    }
    if (this.fanout.webhookConnection) {
      new CfnOutput(this, 'WebhookConnectionName', {
        value: this.fanout.webhookConnection.connectionName,
        description: 'aws events update-connection --name <this> ... after rotating the webhook token',
      });
    }
  }

  private table(spec: TableSpec): dynamodb.Table {
    return new dynamodb.Table(this, `${spec.id}-table`, {
      partitionKey: { name: spec.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: spec.ttlAttribute,
      // Orders, stock and payments outlive a stack: `cdk destroy` keeps the tables (see the README's teardown).
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /**
   * One `ManagedKafkaEventSource` per topic of a consumer. Provisioned pollers carry the topology's retry, bisect,
   * partial-batch and record-age settings and dead-letter to the Kafka topic; on-demand mode supports none of
   * those, so discarded batches go to an encrypted SQS queue instead.
   */
  private addKafkaMappings(name: FunctionName, params: OrderflowParameters): void {
    const fn = this.functions[name];
    const mappings = kafkaMappings().filter((m) => m.consumer.function === name);
    const consumer = consumerSpecOf(name);
    if (!consumer || mappings.length === 0) return;
    this.kafka.grantConsume(
      fn,
      mappings.map((m) => m.topic),
      mappings.map((m) => m.groupId),
    );
    const provisioned = params.pollerMode === 'provisioned';
    if (provisioned) this.kafka.grantOnFailureTopic(fn, consumer.onFailureTopic);
    let queue: sqs.Queue | undefined;
    if (!provisioned) {
      queue = targetDeadLetterQueue(this, `${name}-mapping-dlq`);
      this.mappingDeadLetterQueues[`${name}-mapping`] = queue;
    }
    for (const mapping of mappings) {
      const common = {
        clusterArn: this.kafka.clusterArn,
        topic: mapping.topic,
        consumerGroupId: mapping.groupId,
        batchSize: consumer.batchSize,
        maxBatchingWindow: Duration.seconds(consumer.batchingWindowSeconds),
        startingPosition: lambda.StartingPosition[consumer.startingPosition],
      };
      fn.addEventSource(
        new ManagedKafkaEventSource(
          provisioned
            ? {
                ...common,
                provisionedPollerConfig: {
                  minimumPollers: 1,
                  maximumPollers: mapping.partitions,
                  pollerGroupName: stageName('orderflow', params.stage),
                },
                retryAttempts: consumer.retryAttempts,
                bisectBatchOnError: consumer.bisectOnError,
                reportBatchItemFailures: consumer.reportBatchItemFailures,
                maxRecordAge:
                  consumer.maxRecordAgeSeconds < 0 ? undefined : Duration.seconds(consumer.maxRecordAgeSeconds),
                onFailure: new KafkaDlq(consumer.onFailureTopic),
              }
            : { ...common, onFailure: new SqsDlq(queue as sqs.Queue) },
        ),
      );
    }
    // Mappings start polling on create: the topics and the role's kafka-cluster grants must exist by then.
    for (const child of fn.node.children) {
      if (child instanceof lambda.EventSourceMapping) {
        child.node.addDependency(this.topics.resource);
        if (fn.role) child.node.addDependency(fn.role);
      }
    }
  }
}

/** Port of the registry URL (443 or 80 when the URL names none). */
export function registryPort(url: string): number {
  const parsed = new URL(url);
  if (parsed.port) return Number(parsed.port);
  return parsed.protocol === 'https:' ? 443 : 80;
}
