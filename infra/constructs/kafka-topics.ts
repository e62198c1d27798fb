/**
 * The two deploy-time facts CloudFormation cannot give about MSK Serverless: its bootstrap brokers (read with
 * GetBootstrapBrokers) and its topics (created with the Kafka admin API from inside the VPC).
 */
import { CustomResource, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { TopicSpec } from '../../shared/topology.js';
import type { KafkaCluster } from './kafka-cluster.js';
import { OrderflowFunction } from './orderflow-function.js';

/** Properties of `BootstrapBrokers`. */
export interface BootstrapBrokersProps {
  readonly cluster: KafkaCluster;
}

/** The cluster's SASL/IAM bootstrap broker string, read at deploy time. */
export class BootstrapBrokers extends Construct {
  /** Comma-separated `host:9098` list (a deploy-time token). */
  readonly brokers: string;
  /** The underlying custom resource. */
  readonly resource: cr.AwsCustomResource;

  constructor(scope: Construct, id: string, props: BootstrapBrokersProps) {
    super(scope, id);
    const call: cr.AwsSdkCall = {
      service: 'Kafka',
      action: 'GetBootstrapBrokers',
      parameters: { ClusterArn: props.cluster.clusterArn },
      // Same id for the cluster's lifetime; a replaced cluster has a new ARN and so re-reads its brokers.
      physicalResourceId: cr.PhysicalResourceId.of(props.cluster.clusterArn),
      outputPaths: ['BootstrapBrokerStringSaslIam'],
    };
    this.resource = new cr.AwsCustomResource(this, 'get-bootstrap-brokers', {
      onCreate: call,
      onUpdate: call,
      policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: [props.cluster.clusterArn] }),
      installLatestAwsSdk: false,
      logGroup: new logs.LogGroup(this, 'logs', {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
    });
    this.brokers = this.resource.getResponseField('BootstrapBrokerStringSaslIam');
  }
}

/** Properties of `KafkaTopics`. */
export interface KafkaTopicsProps {
  readonly cluster: KafkaCluster;
  /** Bootstrap brokers the admin client connects to. */
  readonly bootstrapBrokers: string;
  readonly vpc: ec2.IVpc;
  /** Topics to create, from the topology. */
  readonly topics: readonly TopicSpec[];
}

/** Creates and updates the topology's topics; retries until the new cluster's partitions have leaders. */
export class KafkaTopics extends Construct {
  /** The custom resource; event-source mappings depend on it. */
  readonly resource: CustomResource;
  /** The admin function running in the VPC. */
  readonly handler: OrderflowFunction;
  /** The Provider framework in front of `handler`. */
  readonly provider: cr.Provider;

  constructor(scope: Construct, id: string, props: KafkaTopicsProps) {
    super(scope, id);
    this.handler = new OrderflowFunction(this, 'handler', {
      serviceName: 'orderflow-kafka-topics',
      entry: 'infra/custom-resources/kafka-topics/handler.ts',
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [props.cluster.clientSecurityGroup],
      // A fresh MSK Serverless cluster can take minutes before its partitions have leaders.
      timeout: Duration.minutes(14),
      memorySize: 256,
    });
    props.cluster.grantTopicAdmin(
      this.handler.function,
      props.topics.map((t) => t.name),
    );
    this.provider = new cr.Provider(this, 'provider', {
      onEventHandler: this.handler.function,
      logGroup: new logs.LogGroup(this, 'provider-logs', {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
    });
    this.resource = new CustomResource(this, 'topics', {
      serviceToken: this.provider.serviceToken,
      resourceType: 'Custom::KafkaTopics',
      properties: {
        BootstrapBrokers: props.bootstrapBrokers,
        Topics: JSON.stringify(
          props.topics.map((t) => ({ name: t.name, partitions: t.partitions, retentionMs: t.retentionMs })),
        ),
      },
    });
  }
}
