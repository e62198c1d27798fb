import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import {
  deployOnlyVariables,
  functionFromTemplate,
  invokeEnvironment,
  newestSourceMtime,
  parseFunctionName,
  RIE_VERSION,
  rieBinary,
  type TemplateFunction,
} from './invoke.js';

/** The parts of a synthesized template `invoke` reads, for validate-order. */
const TEMPLATE = {
  Resources: {
    ValidateOrderFunction: {
      Type: 'AWS::Lambda::Function',
      Metadata: { 'aws:asset:path': 'asset.0123abcd', 'aws:asset:property': 'Code' },
      Properties: {
        Handler: 'index.handler',
        Runtime: 'nodejs24.x',
        Timeout: 30,
        MemorySize: 512,
        Environment: {
          Variables: {
            CATALOG_TABLE: { Ref: 'CatalogTable1234' },
            KAFKA_BROKERS: { 'Fn::GetAtt': ['Brokers', 'BootstrapBrokerStringSaslIam'] },
            KAFKA_AUTH: 'iam',
            SCHEMA_REGISTRY_URL: 'https://registry.example.com',
            SCHEMA_REGISTRY_USERNAME: { 'Fn::Join': ['', ['{{resolve:secretsmanager:', 'arn', ':SecretString:u}}']] },
            POWERTOOLS_SERVICE_NAME: 'validate-order',
            NODE_OPTIONS: '--enable-source-maps',
          },
        },
      },
    },
    OrderApiFunction: { Type: 'AWS::Lambda::Function', Properties: { Handler: 'index.handler' } },
  },
};

const SAM_ENV = {
  ValidateOrderFunction: {
    CATALOG_TABLE: 'orderflow-catalog',
    KAFKA_AUTH: 'none',
    KAFKA_BROKERS: '127.0.0.1:9092',
    NODE_OPTIONS: '--enable-source-maps',
    POWERTOOLS_SERVICE_NAME: 'validate-order',
    SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081',
    AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
    AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:8000',
  },
};

const STACK_ENV = {
  KAFKA_BROKERS: '127.0.0.1:19092',
  KAFKA_AUTH: 'none',
  SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081/apis/ccompat/v7',
  AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
  AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:8000',
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
};

function validateOrder(): TemplateFunction {
  return functionFromTemplate(structuredClone(TEMPLATE), '/repo/cdk.out', 'validate-order');
}

describe('functionFromTemplate', () => {
  it('finds the bundle, handler, limits and variables of a function by its logical id', () => {
    // Act
    const fn = validateOrder();

    // Assess
    expect(fn).toMatchObject({
      name: 'validate-order',
      logicalId: 'ValidateOrderFunction',
      assetDir: '/repo/cdk.out/asset.0123abcd',
      handler: 'index.handler',
      runtime: 'nodejs24.x',
      timeoutSeconds: 30,
      memoryMb: 512,
    });
    expect(fn.variables.KAFKA_AUTH).toBe('iam');
  });

  it('fails when the function is not in the template', () => {
    expect(() => functionFromTemplate({ Resources: {} }, '/repo/cdk.out', 'reserve-inventory')).toThrow(
      'template has no AWS::Lambda::Function ReserveInventoryFunction (for reserve-inventory), got undefined',
    );
  });

  it('fails when the template has no asset metadata (synthesized without bundling)', () => {
    expect(() => functionFromTemplate(structuredClone(TEMPLATE), '/repo/cdk.out', 'order-api')).toThrow(
      /OrderApiFunction has no bundle in the template's asset metadata/,
    );
  });
});

describe('parseFunctionName', () => {
  it('accepts a function name', () => {
    expect(parseFunctionName('validate-order')).toBe('validate-order');
  });

  it('fails when the name is unknown, listing the known ones', () => {
    expect(() => parseFunctionName('ValidateOrder')).toThrow(
      /unknown function "ValidateOrder"; one of: .*validate-order/,
    );
  });
});

describe('invokeEnvironment', () => {
  it('replaces deploy-time values by the local ones, then by the running stack addresses', () => {
    // Act
    const env = invokeEnvironment(validateOrder(), SAM_ENV, STACK_ENV);

    // Assess
    expect(env).toMatchObject({
      CATALOG_TABLE: 'orderflow-catalog',
      KAFKA_AUTH: 'none',
      KAFKA_BROKERS: '127.0.0.1:19092',
      SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081/apis/ccompat/v7',
      POWERTOOLS_SERVICE_NAME: 'validate-order',
      NODE_OPTIONS: '--enable-source-maps',
      AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:8000',
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'testing',
    });
  });

  it('drops the registry credentials, which the local registry does not have', () => {
    const env = invokeEnvironment(validateOrder(), SAM_ENV, STACK_ENV);

    expect(env).not.toHaveProperty('SCHEMA_REGISTRY_USERNAME');
  });

  it('sets what Lambda sets in every execution environment', () => {
    const env = invokeEnvironment(validateOrder(), SAM_ENV, STACK_ENV);

    expect(env).toMatchObject({
      AWS_LAMBDA_FUNCTION_NAME: 'validate-order',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
      AWS_LAMBDA_FUNCTION_TIMEOUT: '30',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
      LAMBDA_TASK_ROOT: '/repo/cdk.out/asset.0123abcd',
      _HANDLER: 'index.handler',
    });
  });

  it('gives the stack addresses only to functions that read them', () => {
    // Prepare
    const fn = { ...validateOrder(), variables: { POWERTOOLS_SERVICE_NAME: 'validate-order' } };
    const samEnv = { ValidateOrderFunction: { POWERTOOLS_SERVICE_NAME: 'validate-order' } };

    // Act
    const env = invokeEnvironment(fn, samEnv, STACK_ENV);

    // Assess
    expect(env).not.toHaveProperty('KAFKA_BROKERS');
    expect(env.AWS_ENDPOINT_URL).toBe('http://127.0.0.1:4566');
  });

  it('leaves out what only the deployed function gets, and names it', () => {
    // Prepare
    const fn = validateOrder();

    // Act
    const env = invokeEnvironment(fn, SAM_ENV, STACK_ENV);

    // Assess
    expect(deployOnlyVariables(fn, env)).toEqual(['SCHEMA_REGISTRY_USERNAME']);
  });

  it('fails when local/sam-env.json has no entry for the function', () => {
    expect(() => invokeEnvironment(validateOrder(), {}, STACK_ENV)).toThrow(
      'local/sam-env.json has no ValidateOrderFunction; regenerate it with `npm run sam-env`',
    );
  });
});

describe('newestSourceMtime', () => {
  it('is the newest file below the inputs, ignoring tests', () => {
    // Prepare
    const dir = mkdtempSync(path.join(tmpdir(), 'orderflow-invoke-'));
    mkdirSync(path.join(dir, 'functions'));
    const file = path.join(dir, 'functions', 'handler.ts');
    const test = path.join(dir, 'functions', 'handler.test.ts');
    writeFileSync(file, '');
    writeFileSync(test, '');
    utimesSync(file, 1_000, 1_000);
    utimesSync(test, 5_000, 5_000);

    // Act
    const newest = newestSourceMtime([path.join(dir, 'functions'), path.join(dir, 'missing')]);

    // Assess
    expect(newest).toBe(1_000_000);
  });
});

describe('rieBinary', () => {
  it('caches the pinned RIE under the orderflow tool cache', () => {
    expect(rieBinary({ ORDERFLOW_CACHE_DIR: '/cache' })).toBe(
      `/cache/aws-lambda-rie-${RIE_VERSION}/bin/aws-lambda-rie`,
    );
  });
});
