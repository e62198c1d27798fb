/**
 * The one way orderflow builds a Lambda function: esbuild through `NodejsFunction`, an ESM bundle for the newest
 * Node.js runtime on ARM64, minified with names kept, X-Ray, Powertools settings and a log group whose retention is set.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BUNDLE_ALIASES, BUNDLE_SETTINGS, CREATE_REQUIRE_BANNER } from '../bundle-options.js';

/** Repository root: entries, the lock file and esbuild resolve from here. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Runtime of every orderflow function: the newest Node.js the installed aws-cdk-lib knows. */
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_24_X;

/** Metrics namespace shared with `shared/observability.ts`. */
export const METRICS_NAMESPACE = 'orderflow';

/** Properties of an `OrderflowFunction`. */
export interface OrderflowFunctionProps {
  /** Service name: the `POWERTOOLS_SERVICE_NAME` and the metrics' `service` dimension. */
  readonly serviceName: string;
  /** Handler module (exports `handler`), relative to the repository root. */
  readonly entry: string;
  /**
   * Variables on top of the Powertools ones.
   *
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * Memory in MiB.
   *
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Invocation timeout.
   *
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /**
   * VPC to attach to; functions that talk to Kafka need it, the others stay out.
   *
   * @default - not in a VPC
   */
  readonly vpc?: ec2.IVpc;
  /**
   * Subnets inside `vpc`.
   *
   * @default - the VPC's private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * Security groups inside `vpc`.
   *
   * @default - none (required with `vpc`)
   */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /**
   * How long the function's logs are kept.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Logical id of the function resource, so `sam local invoke <id>` commands stay stable.
   *
   * @default - CDK's generated id
   */
  readonly logicalId?: string;
}

/** A `NodejsFunction` with orderflow's bundling, runtime, tracing, logging and Powertools settings. */
export class OrderflowFunction extends Construct {
  /** The function. */
  readonly function: NodejsFunction;
  /** Its log group. */
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: OrderflowFunctionProps) {
    super(scope, id);
    if (props.vpc && (props.securityGroups?.length ?? 0) === 0) {
      throw new Error(
        `function ${id} is in a vpc but has no security group, got ${JSON.stringify(props.securityGroups)}`,
      );
    }
    this.logGroup = new logs.LogGroup(this, 'logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.function = new NodejsFunction(this, 'function', {
      entry: path.join(REPO_ROOT, props.entry),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      runtime: FUNCTION_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: lambda.Tracing.ACTIVE,
      logGroup: this.logGroup,
      vpc: props.vpc,
      vpcSubnets: props.vpc ? (props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }) : undefined,
      securityGroups: props.securityGroups,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        mainFields: [...BUNDLE_SETTINGS.mainFields],
        target: BUNDLE_SETTINGS.target,
        minify: BUNDLE_SETTINGS.minify,
        sourceMap: BUNDLE_SETTINGS.sourcemap,
        keepNames: BUNDLE_SETTINGS.keepNames,
        // Bundle the AWS SDK so the code runs against the versions it was tested with, not the runtime's.
        bundleAwsSDK: true,
        banner: CREATE_REQUIRE_BANNER,
        esbuildArgs: { '--alias': Object.entries(BUNDLE_ALIASES).map(([module, file]) => `${module}=${file}`) },
      },
    });
    if (props.logicalId) (this.function.node.defaultChild as lambda.CfnFunction).overrideLogicalId(props.logicalId);
  }
}
