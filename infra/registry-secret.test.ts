import { beforeAll, describe, expect, it } from '@jest/globals';
import { usesKafka } from '../shared/functions.js';
import { FUNCTION_NAMES, type FunctionName } from '../shared/topology.js';
import { functionLogicalId } from './orderflow-stack.js';
import { synthOrderflow, TEST_PARAMETERS } from './testing.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is untyped; the tests index into it freely.
type Json = Record<string, any>;

const ARN = TEST_PARAMETERS.schemaRegistrySecretArn;
let resources: Record<string, Json>;

beforeAll(() => {
  resources = synthOrderflow({ bundle: false }).template.toJSON().Resources;
}, 120_000);

function fnOf(name: FunctionName): Json {
  const resource = resources[functionLogicalId(name)];
  if (!resource) throw new Error(`no function resource for ${name}`);
  return resource;
}

/** Statements of every IAM policy attached to the role of `name`. */
function statementsOf(name: FunctionName): Json[] {
  const roleId = fnOf(name).Properties.Role['Fn::GetAtt'][0];
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((role: Json) => role.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

const actionsOf = (statement: Json): string[] => [statement.Action].flat();
const kafkaFunctions = FUNCTION_NAMES.filter(usesKafka);

describe('registry secret', () => {
  it('puts no resolved secret into any function configuration, only the secret ARN', () => {
    // Act
    const environments = Object.values(resources)
      .filter((r) => r.Type === 'AWS::Lambda::Function')
      .map((r) => r.Properties.Environment?.Variables ?? {});

    // Assess
    for (const variables of environments) {
      expect(JSON.stringify(variables)).not.toContain('{{resolve:secretsmanager');
      expect(variables.SCHEMA_REGISTRY_USERNAME).toBeUndefined();
      expect(variables.SCHEMA_REGISTRY_PASSWORD).toBeUndefined();
    }
    expect(kafkaFunctions.length).toBeGreaterThan(0);
    for (const name of kafkaFunctions) {
      expect(fnOf(name).Properties.Environment.Variables.SCHEMA_REGISTRY_SECRET_ARN).toBe(ARN);
    }
  });

  it('lets each Kafka function read exactly that secret, and no other function any secret', () => {
    for (const name of FUNCTION_NAMES) {
      // Act
      const reads = statementsOf(name).filter((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'));

      // Assess
      if (!usesKafka(name)) {
        expect(reads).toEqual([]);
        continue;
      }
      expect(reads).toHaveLength(1);
      expect(reads[0]?.Effect).toBe('Allow');
      expect(reads[0]?.Resource).toBe(ARN);
    }
  });

  it('grants on <arn>-?????? when the ARN is partial (no 6-character suffix)', () => {
    const partial = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:orderflow/registry';
    const template = synthOrderflow({ bundle: false, context: { schemaRegistrySecretArn: partial } }).template.toJSON();

    const resources = template.Resources as Record<string, Json>;
    const resourcesOfReads = Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((s: Json) => actionsOf(s).includes('secretsmanager:GetSecretValue'))
      .map((s: Json) => JSON.stringify(s.Resource));

    expect(new Set(resourcesOfReads).size).toBe(1);
    expect(resourcesOfReads[0]).toContain(`${partial}-??????`);
    expect(resourcesOfReads[0]).not.toBe('"*"');
  });
});
