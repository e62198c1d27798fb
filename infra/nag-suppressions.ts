/**
 * cdk-nag acknowledgements (`Validations.of(...).acknowledge`), each on the narrowest construct and finding id
 * that covers it, with the reason it does not apply or is accepted. Anything not listed here fails synthesis.
 */
import { type CfnElement, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { OrderflowFunction } from './constructs/orderflow-function.js';
import type { OrderflowStack } from './orderflow-stack.js';

const MANAGED = (name: string) =>
  `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/${name}]`;

/** Reasons, by finding id, for the AWS managed policies CDK attaches to Lambda roles. */
const MANAGED_POLICY_REASONS: Record<string, string> = {
  AWSLambdaBasicExecutionRole:
    'grants only logs:CreateLogGroup/CreateLogStream/PutLogEvents, the minimum for a function to log; it is the policy lambda documents for this',
  AWSLambdaVPCAccessExecutionRole:
    'grants only the ec2 network-interface actions a vpc function needs; those actions do not support resource-level permissions',
  AWSLambdaMSKExecutionRole:
    'attached by ManagedKafkaEventSource: kafka:DescribeClusterV2/GetBootstrapBrokers and the ec2 network-interface actions the msk event pollers need; data access (kafka-cluster:*) is granted separately, scoped to cluster, topic and group arns',
};

function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

function acknowledgeManagedPolicies(scope: IConstruct, names: readonly string[]): void {
  for (const name of names) {
    const reason = MANAGED_POLICY_REASONS[name];
    if (!reason) throw new Error(`no acknowledgement reason for managed policy ${name}`);
    acknowledge(scope, MANAGED(name), reason);
  }
}

/** Applies every acknowledgement to the stack. */
export function applyNagSuppressions(stack: OrderflowStack): void {
  for (const built of stack.node.findAll().filter((c): c is OrderflowFunction => c instanceof OrderflowFunction)) {
    const fn = built.function;
    const managed = ['AWSLambdaBasicExecutionRole'];
    if (fn.isBoundToVpc) managed.push('AWSLambdaVPCAccessExecutionRole');
    if (fn.node.children.some((c) => c instanceof lambda.EventSourceMapping)) managed.push('AWSLambdaMSKExecutionRole');
    acknowledgeManagedPolicies(built, managed);
    acknowledge(
      built,
      'AwsSolutions-IAM5[Resource::*]',
      'xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) support no resource-level permissions; a test asserts no other action has a wildcard resource',
    );
  }

  const providers = [
    { what: 'topics', provider: stack.topics.provider, handler: stack.topics.handler },
    { what: 'glue schemas', provider: stack.glueSchemas.provider, handler: stack.glueSchemas.handler },
  ];
  for (const { what, provider, handler } of providers) {
    const framework = provider.node.findChild('framework-onEvent');
    acknowledgeManagedPolicies(framework, ['AWSLambdaBasicExecutionRole']);
    const handlerId = stack.getLogicalId(handler.function.node.defaultChild as lambda.CfnFunction);
    acknowledge(
      framework,
      `AwsSolutions-IAM5[Resource::<${handlerId}.Arn>:*]`,
      `the cdk provider framework invokes any version of the ${what} handler it fronts; the wildcard is the version suffix of that one function`,
    );
  }
  acknowledge(
    stack.glueSchemas.readByIdPolicy,
    'AwsSolutions-IAM5[Resource::*]',
    'glue:GetSchemaVersion by SchemaVersionId (how a consumer finds the writer schema of a glue-framed record) names no registry or schema for iam to match; aws documents "Resource": "*" for it (https://docs.aws.amazon.com/glue/latest/dg/schema-registry-gs.html, code example 15) and a maintainer confirms it (awslabs/aws-glue-schema-registry#68). Read-only, this one action, in a policy of its own; lookups by SchemaId are granted on the registry and schema arns',
  );

  // Singletons CDK adds at stack level for AwsCustomResource (GetBootstrapBrokers, the audit log group's policy).
  for (const child of stack.node.children) {
    if (child.node.id.startsWith('AWS679f53fac002430cb0da5b7982bd2287')) {
      acknowledgeManagedPolicies(child, ['AWSLambdaBasicExecutionRole']);
    }
    if (child.node.id.startsWith('EventsLogGroupPolicy')) {
      acknowledge(
        child,
        'AwsSolutions-IAM5[Resource::*]',
        'cloudwatch logs resource policies are account-level and have no resource arn; cdk writes the one that lets eventbridge deliver to the audit log group',
      );
    }
  }

  for (const [name, queue] of Object.entries(stack.fanout.deadLetterQueues)) {
    acknowledge(queue, 'AwsSolutions-SQS3', `this queue is the dead-letter queue of the ${name} eventbridge target`);
  }
  for (const [name, queue] of Object.entries(stack.mappingDeadLetterQueues)) {
    acknowledge(queue, 'AwsSolutions-SQS3', `this queue is the on-failure destination of the ${name} kafka mappings`);
  }
  if (stack.fanout.webhookSecret) {
    acknowledge(
      stack.fanout.webhookSecret,
      'AwsSolutions-SMG4',
      'the webhook token is shared with the receiving endpoint out of band; automatic rotation would break deliveries, so it is rotated by hand (see the readme)',
    );
  }
  const apiId = stack.getLogicalId(stack.api.api.node.defaultChild as CfnElement);
  acknowledge(
    stack.api.clientPolicy,
    `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${apiId}>/$default/GET/orders/*]`,
    'GET /orders/{orderId}: execute-api arns carry the request path, so the order id is a wildcard; method, stage and prefix are fixed',
  );

  const liveApiId = stack.getLogicalId(stack.live.api.node.defaultChild as CfnElement);
  for (const fn of Object.values(stack.functions)) {
    if (!fn.role) continue;
    acknowledge(
      fn.role,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${liveApiId}>/live/@connections/*]`,
      'execute-api:ManageConnections on the live stage: the Management API arn ends in the connection id, known only at run time; api and stage are fixed',
    );
  }
  for (const route of stack.live.api.node.findAll().filter((c) => c.node.id.endsWith('-Route'))) {
    if (route.node.id === '$connect-Route') continue;
    acknowledge(
      route,
      'AwsSolutions-APIG4',
      'a websocket api authorizes the connection once, at $connect (iam here); its other routes cannot carry an authorizer and run only on an authorized connection',
    );
  }
}
