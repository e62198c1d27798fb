/**
 * The AWS Glue Schema Registry of the stack in each registry mode: the retained registry, one schema custom
 * resource per event topic with the reader schema as its definition, the register-only handler, the functions'
 * read grants, their variables and the network. Templates only: no bundling.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { topicReaderSchema } from '../shared/codec.js';
import { usesKafka } from '../shared/functions.js';
import { eventTopics } from '../shared/schema-registry.js';
import { FUNCTION_NAMES, type FunctionName, valueSubject } from '../shared/topology.js';
import { MSK_IAM_PORT } from './constructs/kafka-cluster.js';
import { functionLogicalId } from './orderflow-stack.js';
import { GLUE_MODE, type Synthesized, synthOrderflow, TEST_PARAMETERS } from './testing.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is untyped; the tests index into it freely.
type Json = Record<string, any>;

let glue: Synthesized;
let confluent: Synthesized;
let migration: Synthesized;

beforeAll(() => {
  glue = synthOrderflow({ bundle: false, context: GLUE_MODE });
  confluent = synthOrderflow({
    bundle: false,
    context: { schemaRegistryUrl: 'http://registry.internal:8081', schemaRegistrySecretArn: undefined },
  });
  // Glue writer while the consumers still read the Confluent registry, on a stage.
  migration = synthOrderflow({ bundle: false, context: { schemaRegistry: 'glue', stage: 'dev' } });
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

function fnOf(synth: Synthesized, name: FunctionName): Json {
  const resource = resourcesOf(synth)[functionLogicalId(name)];
  if (!resource) throw new Error(`no function resource for ${name}`);
  return resource;
}

/** `[policy id, statement]` of every IAM policy attached to the role of a function resource. */
function statementsOfRole(synth: Synthesized, roleId: string): Array<[string, Json]> {
  return ofType(synth, 'AWS::IAM::Policy')
    .filter(([, p]) => p.Properties.Roles.some((r: Json) => r.Ref === roleId))
    .flatMap(([id, p]) => p.Properties.PolicyDocument.Statement.map((s: Json) => [id, s] as [string, Json]));
}

function roleOf(synth: Synthesized, name: FunctionName): string {
  return fnOf(synth, name).Properties.Role['Fn::GetAtt'][0];
}

/** An ARN as text, with the pseudo parameters by name: `arn:<partition>:glue:<region>:<account>:registry/x`. */
function arnText(value: Json | string): string {
  if (typeof value === 'string') return value;
  const parts = value['Fn::Join']?.[1] as Array<string | Json> | undefined;
  if (!parts) return JSON.stringify(value);
  const pseudo: Record<string, string> = {
    'AWS::Partition': '<partition>',
    'AWS::Region': '<region>',
    'AWS::AccountId': '<account>',
  };
  return parts.map((p) => (typeof p === 'string' ? p : (pseudo[p.Ref] ?? JSON.stringify(p)))).join('');
}

const GLUE_ARN = 'arn:<partition>:glue:<region>:<account>';
const registryArn = (registry: string) => `${GLUE_ARN}:registry/${registry}`;
const schemaArns = (registry: string) => eventTopics().map((t) => `${GLUE_ARN}:schema/${registry}/${valueSubject(t)}`);
const kafkaFunctions = FUNCTION_NAMES.filter(usesKafka);

describe('glue registry and schemas', () => {
  it('creates the orderflow registry and keeps it when the stack is deleted or replaces it', () => {
    // Prepare
    const registries = ofType(glue, 'AWS::Glue::Registry');

    // Assess
    expect(registries).toHaveLength(1);
    expect(registries[0]?.[1]).toMatchObject({
      Properties: { Name: 'orderflow' },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it("registers one schema per event topic, <topic>-value, whose definition is the topic's reader schema", () => {
    // Prepare
    const [[registryId]] = ofType(glue, 'AWS::Glue::Registry') as [[string, Json]];
    const schemas = ofType(glue, 'Custom::GlueSchema').map(([, r]) => r);

    // Assess
    expect(schemas.map((s) => s.Properties.SchemaName).sort()).toEqual(eventTopics().map(valueSubject).sort());
    for (const topic of eventTopics()) {
      const schema = schemas.find((s) => s.Properties.SchemaName === valueSubject(topic));
      expect(schema?.Properties).toMatchObject({
        RegistryName: 'orderflow',
        DataFormat: 'AVRO',
        Compatibility: 'BACKWARD',
      });
      expect(JSON.parse(schema?.Properties.SchemaDefinition)).toEqual(topicReaderSchema(topic));
      expect(schema?.DependsOn).toContain(registryId);
      // Delete is a no-op in the handler (a version outlives the stack); the template says so too.
      expect(schema?.DeletionPolicy).toBe('Retain');
    }
  });

  it('registers through a function outside the vpc that may only get, create and register in this registry', () => {
    // Prepare
    const [[, schema]] = ofType(glue, 'Custom::GlueSchema') as [[string, Json]];
    const providerId = schema.Properties.ServiceToken['Fn::GetAtt'][0];
    const [handlerId, handler] = ofType(glue, 'AWS::Lambda::Function').find(([id]) =>
      id.startsWith('glueregistryhandlerfunction'),
    ) as [string, Json];
    const glueStatements = statementsOfRole(glue, handler.Properties.Role['Fn::GetAtt'][0])
      .map(([, s]) => s)
      .filter((s) => asArray(s.Action).some((a: string) => a.startsWith('glue:')));

    // Assess
    expect(providerId).toMatch(/^glueregistryproviderframeworkonEvent/);
    expect(JSON.stringify(resourcesOf(glue)[providerId]?.Properties.Environment)).toContain(handlerId);
    expect(handler.Properties.VpcConfig).toBeUndefined();
    expect(glueStatements).toHaveLength(1);
    expect(asArray(glueStatements[0]?.Action).sort()).toEqual([
      'glue:CreateSchema',
      'glue:GetSchema',
      'glue:GetSchemaVersion',
      'glue:RegisterSchemaVersion',
    ]);
    expect(asArray(glueStatements[0]?.Resource).map(arnText).sort()).toEqual(
      [registryArn('orderflow'), ...schemaArns('orderflow')].sort(),
    );
  });
});

describe('glue read grants', () => {
  it('lets every kafka function get schema versions by schema on the registry and schema arns, and nothing more', () => {
    for (const name of FUNCTION_NAMES) {
      // Prepare
      const glueStatements = statementsOfRole(glue, roleOf(glue, name)).filter(([, s]) =>
        asArray(s.Action).some((a: string) => a.startsWith('glue:')),
      );
      const scoped = glueStatements.filter(([, s]) => s.Sid !== 'GlueSchemaVersionById');

      // Assess
      if (!usesKafka(name)) {
        expect({ name, glueStatements }).toEqual({ name, glueStatements: [] });
        continue;
      }
      expect(scoped).toHaveLength(1);
      expect(asArray(scoped[0]?.[1].Action)).toEqual(['glue:GetSchemaVersion']);
      expect(asArray(scoped[0]?.[1].Resource).map(arnText).sort()).toEqual(
        [registryArn('orderflow'), ...schemaArns('orderflow')].sort(),
      );
    }
  });

  it('gives the lookup by version id its own statement on *, in one policy attached to the kafka functions only', () => {
    // Prepare
    const policies = ofType(glue, 'AWS::IAM::Policy').filter(([, p]) =>
      p.Properties.PolicyDocument.Statement.some((s: Json) => s.Sid === 'GlueSchemaVersionById'),
    );

    // Assess
    expect(policies).toHaveLength(1);
    const [, policy] = policies[0] as [string, Json];
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      { Sid: 'GlueSchemaVersionById', Effect: 'Allow', Action: 'glue:GetSchemaVersion', Resource: '*' },
    ]);
    expect(policy.Properties.Roles.map((r: Json) => r.Ref).sort()).toEqual(
      kafkaFunctions.map((name) => roleOf(glue, name)).sort(),
    );
  });

  it('lets no function create, register or change a schema', () => {
    for (const name of FUNCTION_NAMES) {
      const actions = statementsOfRole(glue, roleOf(glue, name)).flatMap(([, s]) => asArray(s.Action));
      expect(actions.filter((a: string) => a.startsWith('glue:') && a !== 'glue:GetSchemaVersion')).toEqual([]);
    }
  });

  it('creates each kafka function after the schemas are registered and its by-id grant exists', () => {
    // Prepare
    const schemaIds = ofType(glue, 'Custom::GlueSchema').map(([id]) => id);
    const [[policyId]] = ofType(glue, 'AWS::IAM::Policy').filter(([id]) => id.startsWith('glueregistryreadbyid')) as [
      [string, Json],
    ];

    for (const name of kafkaFunctions) {
      // Assess
      expect({ name, dependsOn: fnOf(glue, name).DependsOn }).toEqual({
        name,
        dependsOn: expect.arrayContaining([...schemaIds, policyId]),
      });
    }
  });
});

describe('registry modes', () => {
  it('writes glue by default: the registry name but no url, no secret, no secret grant and no registry port', () => {
    for (const name of kafkaFunctions) {
      // Prepare
      const variables = fnOf(glue, name).Properties.Environment.Variables;
      const actions = statementsOfRole(glue, roleOf(glue, name)).flatMap(([, s]) => asArray(s.Action));

      // Assess
      expect(variables).toMatchObject({ SCHEMA_REGISTRY: 'glue', GLUE_REGISTRY_NAME: 'orderflow' });
      expect(variables.SCHEMA_REGISTRY_URL).toBeUndefined();
      expect(variables.SCHEMA_REGISTRY_SECRET_ARN).toBeUndefined();
      expect(actions).not.toContain('secretsmanager:GetSecretValue');
    }
    const egress = ofType(glue, 'AWS::EC2::SecurityGroup')
      .flatMap(([, sg]) => sg.Properties.SecurityGroupEgress ?? [])
      .concat(ofType(glue, 'AWS::EC2::SecurityGroupEgress').map(([, r]) => r.Properties))
      .map((rule: Json) => rule.FromPort)
      .filter((port: unknown) => port !== undefined);
    expect(new Set(egress)).toEqual(new Set([443, MSK_IAM_PORT]));
    glue.template.hasOutput('SchemaRegistry', { Value: 'glue' });
    glue.template.hasOutput('GlueRegistryName', { Value: 'orderflow' });
  });

  it('writes confluent when a url is given, opens its port, and still reads glue records', () => {
    // Prepare
    const egress = ofType(confluent, 'AWS::EC2::SecurityGroup').flatMap(
      ([, sg]) => sg.Properties.SecurityGroupEgress ?? [],
    );

    // Assess
    for (const name of kafkaFunctions) {
      expect(fnOf(confluent, name).Properties.Environment.Variables).toMatchObject({
        SCHEMA_REGISTRY: 'confluent',
        SCHEMA_REGISTRY_URL: 'http://registry.internal:8081',
        GLUE_REGISTRY_NAME: 'orderflow',
      });
    }
    expect(egress).toContainEqual(
      expect.objectContaining({ CidrIp: '0.0.0.0/0', FromPort: 8081, ToPort: 8081, IpProtocol: 'tcp' }),
    );
    expect(ofType(confluent, 'Custom::GlueSchema')).toHaveLength(eventTopics().length);
    confluent.template.hasOutput('SchemaRegistry', { Value: 'confluent' });
  });

  it('writes glue while reading the confluent registry too in a migration, with the stage in every glue name', () => {
    // Prepare
    const [[, registry]] = ofType(migration, 'AWS::Glue::Registry') as [[string, Json]];
    const schemas = ofType(migration, 'Custom::GlueSchema').map(([, r]) => r.Properties.RegistryName);
    const scoped = statementsOfRole(migration, roleOf(migration, 'order-api'))
      .map(([, s]) => s)
      .filter((s) => s.Sid === undefined && asArray(s.Action).includes('glue:GetSchemaVersion'));

    // Assess
    expect(registry.Properties.Name).toBe('orderflow-dev');
    expect(new Set(schemas)).toEqual(new Set(['orderflow-dev']));
    expect(asArray(scoped[0]?.Resource).map(arnText).sort()).toEqual(
      [registryArn('orderflow-dev'), ...schemaArns('orderflow-dev')].sort(),
    );
    for (const name of kafkaFunctions) {
      expect(fnOf(migration, name).Properties.Environment.Variables).toMatchObject({
        SCHEMA_REGISTRY: 'glue',
        GLUE_REGISTRY_NAME: 'orderflow-dev',
        SCHEMA_REGISTRY_URL: TEST_PARAMETERS.schemaRegistryUrl,
        SCHEMA_REGISTRY_SECRET_ARN: TEST_PARAMETERS.schemaRegistrySecretArn,
      });
    }
  });
});
