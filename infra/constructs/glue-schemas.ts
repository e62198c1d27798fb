/**
 * The AWS Glue Schema Registry of orderflow: the registry (retained), one schema per event topic's value schema
 * registered at deploy by a custom resource, and the read grants of the functions that encode and decode with it.
 * Why a custom resource and not AWS::Glue::Schema / AWS::Glue::SchemaVersion: docs/deploying.md, "Schema registry
 * modes".
 */
import { Arn, ArnFormat, CustomResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { OrderflowFunction } from './orderflow-function.js';

/** One schema to register: its Glue name and its Avro definition. */
export interface GlueSchemaSpec {
  /** Glue schema name, `<topic>-value` (`valueSubject`). */
  readonly name: string;
  /** Avro schema as JSON text; a change becomes a new version on the next deploy. */
  readonly definition: string;
}

/** Properties of `GlueSchemas`. */
export interface GlueSchemasProps {
  /** Registry name: `orderflow`, or `orderflow-<stage>`. */
  readonly registryName: string;
  /** The schemas, one per event topic. */
  readonly schemas: readonly GlueSchemaSpec[];
  /**
   * Compatibility of a schema the custom resource creates; an existing schema keeps its own.
   *
   * @default 'BACKWARD'
   */
  readonly compatibility?: 'BACKWARD' | 'BACKWARD_ALL' | 'FORWARD' | 'FORWARD_ALL' | 'FULL' | 'FULL_ALL' | 'NONE';
}

/** Glue's schema-registry read action, which the codec calls by SchemaId (encode) and by SchemaVersionId (decode). */
const GET_SCHEMA_VERSION = 'glue:GetSchemaVersion';

/** A Glue registry with orderflow's schemas, each at its current definition. */
export class GlueSchemas extends Construct {
  /** The registry (retained when the stack is deleted: Kafka records reference its version ids). */
  readonly registry: glue.CfnRegistry;
  /** The registry's name. */
  readonly registryName: string;
  /** The registry's ARN. */
  readonly registryArn: string;
  /** The registering function. */
  readonly handler: OrderflowFunction;
  /** The Provider framework in front of `handler`. */
  readonly provider: cr.Provider;
  /** One custom resource per schema, by schema name; attributes `SchemaArn`, `SchemaVersionId`, `VersionNumber`. */
  readonly schemas: Record<string, CustomResource> = {};
  /**
   * `glue:GetSchemaVersion` on `*`, in a policy of its own: a lookup by SchemaVersionId names no registry or schema
   * that IAM could match, so AWS documents `"Resource": "*"` for deserializers (code example 15 of
   * https://docs.aws.amazon.com/glue/latest/dg/schema-registry-gs.html).
   */
  readonly readByIdPolicy: iam.Policy;
  private readonly schemaArns: string[];

  constructor(scope: Construct, id: string, props: GlueSchemasProps) {
    super(scope, id);
    if (props.schemas.length === 0) throw new Error(`glue schemas ${id} needs at least one schema, got none`);
    this.registryName = props.registryName;
    this.registry = new glue.CfnRegistry(this, 'registry', {
      name: props.registryName,
      description: 'orderflow event schemas (<topic>-value), registered at deploy',
    });
    this.registry.applyRemovalPolicy(RemovalPolicy.RETAIN);
    this.registryArn = this.arnOf('registry', props.registryName);
    this.schemaArns = props.schemas.map((s) => this.schemaArn(s.name));

    this.handler = new OrderflowFunction(this, 'handler', {
      serviceName: 'orderflow-glue-schemas',
      entry: 'infra/custom-resources/glue-schemas/handler.ts',
      // Glue's compatibility check of a new version usually takes seconds; PENDING is polled until then.
      timeout: Duration.minutes(5),
      memorySize: 256,
    });
    // Register only, scoped to this registry and its schemas: no function that runs orders can change a schema.
    iam.Grant.addToPrincipal({
      grantee: this.handler.function,
      actions: ['glue:GetSchema', 'glue:CreateSchema', 'glue:RegisterSchemaVersion', GET_SCHEMA_VERSION],
      resourceArns: [this.registryArn, ...this.schemaArns],
    });
    this.provider = new cr.Provider(this, 'provider', {
      onEventHandler: this.handler.function,
      logGroup: new logs.LogGroup(this, 'provider-logs', {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
    });
    for (const schema of props.schemas) {
      const resource = new CustomResource(this, schema.name, {
        serviceToken: this.provider.serviceToken,
        resourceType: 'Custom::GlueSchema',
        // Delete is a no-op in the handler; RETAIN says so in the template as well.
        removalPolicy: RemovalPolicy.RETAIN,
        properties: {
          RegistryName: props.registryName,
          SchemaName: schema.name,
          SchemaDefinition: schema.definition,
          DataFormat: 'AVRO',
          Compatibility: props.compatibility ?? 'BACKWARD',
        },
      });
      resource.node.addDependency(this.registry);
      this.schemas[schema.name] = resource;
    }

    this.readByIdPolicy = new iam.Policy(this, 'read-by-id', {
      statements: [
        new iam.PolicyStatement({ sid: 'GlueSchemaVersionById', actions: [GET_SCHEMA_VERSION], resources: ['*'] }),
      ],
    });
  }

  /** ARN of a schema of this registry. */
  schemaArn(schemaName: string): string {
    return this.arnOf('schema', `${this.registryName}/${schemaName}`);
  }

  /**
   * Lets `grantee` look schema versions up, as the codec does: by SchemaId (the latest version of a schema, to
   * encode), on the registry and schema ARNs; and by SchemaVersionId (the version in a record's header, to decode),
   * through `readByIdPolicy`. Nothing else: no register, no create.
   */
  grantRead(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({
      grantee,
      actions: [GET_SCHEMA_VERSION],
      resourceArns: [this.registryArn, ...this.schemaArns],
    });
    const principal = grantee.grantPrincipal;
    if (!(principal instanceof iam.Role)) {
      throw new Error(`glue schema reads are granted to roles, got ${principal.constructor.name}`);
    }
    this.readByIdPolicy.attachToRole(principal);
  }

  private arnOf(resource: 'registry' | 'schema', resourceName: string): string {
    return Arn.format(
      { service: 'glue', resource, resourceName, arnFormat: ArnFormat.SLASH_RESOURCE_NAME },
      Stack.of(this),
    );
  }
}
