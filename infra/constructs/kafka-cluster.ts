/**
 * MSK Serverless with IAM authentication only, its security groups, and the `kafka-cluster:*` grants scoped to
 * the cluster, topic and group ARNs (https://docs.aws.amazon.com/msk/latest/developerguide/kafka-actions.html).
 */
import { Arn, ArnFormat, Fn, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as msk from 'aws-cdk-lib/aws-msk';
import { Construct } from 'constructs';

/** Port of the SASL/IAM (TLS) listener of MSK Serverless. */
export const MSK_IAM_PORT = 9098;

/** Properties of a `KafkaCluster`. */
export interface KafkaClusterProps {
  /** VPC whose private subnets host the cluster's endpoints. */
  readonly vpc: ec2.IVpc;
  /** Cluster name; part of every topic and group ARN. */
  readonly clusterName: string;
  /**
   * Whether the event pollers run in on-demand mode, where they call Lambda and STS from the cluster's VPC (through
   * the NAT gateway) and reach on-failure destinations through interface endpoints there. Provisioned pollers need
   * neither: Lambda establishes those connections itself
   * (https://docs.aws.amazon.com/lambda/latest/dg/with-msk-cluster-network.html#msk-vpc-privatelink).
   *
   * @default false
   */
  readonly onDemandPollers?: boolean;
}

/** An MSK Serverless cluster reachable only from `clientSecurityGroup` and its own event-source pollers. */
export class KafkaCluster extends Construct {
  /** The cluster resource. */
  readonly cluster: msk.CfnServerlessCluster;
  /** Cluster ARN (`Ref` of the resource). */
  readonly clusterArn: string;
  /** Cluster name. */
  readonly clusterName: string;
  /** Attached to the cluster's endpoints, and used by Lambda's event pollers for the mappings. */
  readonly clusterSecurityGroup: ec2.SecurityGroup;
  /** Attached to every function that produces to the cluster; the only outside group admitted on 9098. */
  readonly clientSecurityGroup: ec2.SecurityGroup;
  private readonly clusterUuid: string;
  private readonly vpc: ec2.IVpc;

  constructor(scope: Construct, id: string, props: KafkaClusterProps) {
    super(scope, id);
    this.clusterName = props.clusterName;
    this.vpc = props.vpc;

    this.clusterSecurityGroup = new ec2.SecurityGroup(this, 'cluster-sg', {
      vpc: props.vpc,
      description: 'MSK Serverless endpoints and the Lambda event pollers of the Kafka mappings',
      allowAllOutbound: false,
    });
    this.clientSecurityGroup = new ec2.SecurityGroup(this, 'client-sg', {
      vpc: props.vpc,
      description: 'orderflow functions that talk to MSK',
      allowAllOutbound: false,
    });
    const port = ec2.Port.tcp(MSK_IAM_PORT);
    this.clusterSecurityGroup.addIngressRule(this.clientSecurityGroup, port, 'functions to brokers (SASL/IAM)');
    // Event pollers run with the cluster's own security group: they need to reach the brokers through it.
    this.clusterSecurityGroup.addIngressRule(this.clusterSecurityGroup, port, 'event pollers to brokers (SASL/IAM)');
    this.clusterSecurityGroup.addEgressRule(this.clusterSecurityGroup, port, 'event pollers to brokers (SASL/IAM)');
    if (props.onDemandPollers) {
      // On-demand pollers call Lambda and STS from the cluster's subnets, through the NAT gateway.
      this.clusterSecurityGroup.addEgressRule(
        ec2.Peer.anyIpv4(),
        ec2.Port.tcp(443),
        'on-demand event pollers to lambda and sts',
      );
    }
    this.clientSecurityGroup.addEgressRule(this.clusterSecurityGroup, port, 'functions to brokers (SASL/IAM)');
    this.clientSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'functions to aws apis over https');

    this.cluster = new msk.CfnServerlessCluster(this, 'cluster', {
      clusterName: props.clusterName,
      clientAuthentication: { sasl: { iam: { enabled: true } } },
      vpcConfigs: [
        {
          subnetIds: props.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }).subnetIds,
          securityGroups: [this.clusterSecurityGroup.securityGroupId],
        },
      ],
    });
    this.clusterArn = this.cluster.ref;
    // arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>
    this.clusterUuid = Fn.select(2, Fn.split('/', this.clusterArn));
  }

  /** Lets the functions reach a schema registry on a port other than 443 (e.g. 8081). */
  allowRegistryPort(port: number): void {
    if (port === 443) return;
    this.clientSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(port), 'functions to the schema registry');
  }

  /** ARN of a topic of this cluster. */
  topicArn(topic: string): string {
    return this.resourceArn('topic', topic);
  }

  /** ARN of a consumer group of this cluster. */
  groupArn(groupId: string): string {
    return this.resourceArn('group', groupId);
  }

  private resourceArn(kind: 'topic' | 'group', name: string): string {
    return Arn.format(
      {
        service: 'kafka',
        resource: kind,
        resourceName: `${this.clusterName}/${this.clusterUuid}/${name}`,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      },
      Stack.of(this),
    );
  }

  /**
   * An interface endpoint in the cluster's private subnets that the event pollers (which run with
   * `clusterSecurityGroup`) reach on 443, and nothing else does: an on-failure destination of an on-demand mapping
   * must be reachable from the cluster's VPC (https://docs.aws.amazon.com/lambda/latest/dg/kafka-on-failure.html).
   */
  addPollerEndpoint(id: string, service: ec2.IInterfaceVpcEndpointService): ec2.InterfaceVpcEndpoint {
    const securityGroup = new ec2.SecurityGroup(this, `${id}-sg`, {
      vpc: this.vpc,
      description: `interface endpoint ${id}: https from the event pollers only`,
      allowAllOutbound: false,
    });
    const endpoint = new ec2.InterfaceVpcEndpoint(this, id, {
      vpc: this.vpc,
      service,
      subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [securityGroup],
      privateDnsEnabled: true,
      // Not open to the whole VPC: only the pollers' security group is admitted below.
      open: false,
    });
    securityGroup.addIngressRule(this.clusterSecurityGroup, ec2.Port.tcp(443), 'event pollers to the endpoint');
    return endpoint;
  }

  /**
   * Lets `grantee` read `topics` as consumer `groups` (the event-source mapping runs with the function's role).
   * `kafka-cluster:DescribeClusterDynamicConfiguration` is left out: it does not apply to serverless clusters
   * (https://docs.aws.amazon.com/msk/latest/developerguide/kafka-actions.html).
   */
  grantConsume(grantee: iam.IGrantable, topics: readonly string[], groups: readonly string[]): void {
    this.grantConnect(grantee, []);
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'],
      resourceArns: unique(topics).map((t) => this.topicArn(t)),
    });
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kafka-cluster:DescribeGroup', 'kafka-cluster:AlterGroup'],
      resourceArns: unique(groups).map((g) => this.groupArn(g)),
    });
  }

  /**
   * Lets the event-source mappings of `grantee` write discarded records to `topic`, their Kafka on-failure
   * destination: `DescribeCluster` on the cluster, `DescribeTopic` and `WriteData` on the topic
   * (https://docs.aws.amazon.com/lambda/latest/dg/kafka-on-failure-destination.html#kafka-ofd-requirements).
   */
  grantOnFailureTopic(grantee: iam.IGrantable, topic: string): void {
    this.grantConnect(grantee, ['kafka-cluster:DescribeCluster']);
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'],
      resourceArns: [this.topicArn(topic)],
    });
  }

  /** Lets `grantee` produce to `topics` with an idempotent producer. */
  grantProduce(grantee: iam.IGrantable, topics: readonly string[]): void {
    this.grantConnect(grantee, ['kafka-cluster:WriteDataIdempotently']);
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'],
      resourceArns: unique(topics).map((t) => this.topicArn(t)),
    });
  }

  /** Lets `grantee` create `topics` and change their partitions and configuration. */
  grantTopicAdmin(grantee: iam.IGrantable, topics: readonly string[]): void {
    this.grantConnect(grantee, []);
    iam.Grant.addToPrincipal({
      grantee,
      actions: [
        'kafka-cluster:CreateTopic',
        'kafka-cluster:DescribeTopic',
        'kafka-cluster:AlterTopic',
        'kafka-cluster:DescribeTopicDynamicConfiguration',
        'kafka-cluster:AlterTopicDynamicConfiguration',
      ],
      resourceArns: unique(topics).map((t) => this.topicArn(t)),
    });
  }

  private grantConnect(grantee: iam.IGrantable, extra: readonly string[]): void {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kafka-cluster:Connect', ...extra],
      resourceArns: [this.clusterArn],
    });
  }
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
