import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { loadConfig } from './config.js';
import { contractOf, envSchemaOf, FUNCTIONS, functionEnvironment, type ResourceValues } from './functions.js';
import { TABLES } from './tables.js';
import { CONSUMERS, EVENT_TYPES, FUNCTION_NAMES, RULES, TOPIC_SPECS } from './topology.js';
import * as z from './zod.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Every resource value set, the optional registry secret included, so every variable a contract can set shows. */
const VALUES: ResourceValues = {
  kafka: {
    brokers: 'b-1.example:9098',
    auth: 'iam',
    schemaRegistry: 'glue',
    glueRegistryName: 'orderflow',
    schemaRegistryUrl: 'https://registry.example.com',
    schemaRegistrySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:registry-AbCdEf',
  },
  pollerMode: 'on-demand',
  tableName: (table) => `table-${TABLES[table].id}`,
  eventBusName: 'bus',
  email: { sender: 'orders@example.com', confirmationTemplate: 'confirmed', cancellationTemplate: 'cancelled' },
  liveCallbackUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/live',
};

/** Keys of a schema that parse fails without (neither optional nor defaulted). */
function requiredKeys(schema: z.ZodMiniObject): string[] {
  return Object.entries(schema.shape)
    .filter(([, field]) => !z.safeParse(field, undefined).success)
    .map(([key]) => key);
}

/** Every `.ts` file under `dir`, tests excluded. */
function sourcesUnder(dir: string): string[] {
  return readdirSync(path.join(REPO_ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
    .map((file) => path.join(dir, file));
}

describe('FUNCTIONS', () => {
  it('has a contract for every function and for nothing else', () => {
    expect(Object.keys(FUNCTIONS).sort()).toEqual([...FUNCTION_NAMES].sort());
  });

  it('calls a function kafka-triggered exactly when the topology has a consumer for it, rule-triggered exactly when a rule targets it', () => {
    for (const name of FUNCTION_NAMES) {
      // Act
      const { trigger } = contractOf(name);

      // Assess
      expect({ name, kafka: trigger === 'kafka' }).toEqual({ name, kafka: CONSUMERS.some((c) => c.function === name) });
      expect({ name, rule: trigger === 'rule' }).toEqual({ name, rule: RULES.some((r) => r.target === name) });
    }
  });

  it('has each event type produced by exactly one function, and on a topic', () => {
    // Act
    const producers = EVENT_TYPES.map((type) => FUNCTION_NAMES.filter((f) => contractOf(f).produces.includes(type)));

    // Assess
    for (const [i, type] of EVENT_TYPES.entries()) {
      expect({ type, producers: producers[i]?.length }).toEqual({ type, producers: 1 });
      expect(TOPIC_SPECS.some((t) => t.events.includes(type))).toBe(true);
    }
  });

  it('lists each table at most once per function', () => {
    for (const name of FUNCTION_NAMES) {
      const tables = contractOf(name).tables.map((t) => t.table);
      expect(new Set(tables).size).toBe(tables.length);
    }
  });
});

describe('envSchemaOf', () => {
  it('accepts every variable functionEnvironment sets, and needs no variable it does not set', () => {
    for (const name of FUNCTION_NAMES) {
      // Prepare
      const schema = envSchemaOf(name);

      // Act
      const set = Object.keys(functionEnvironment(name, VALUES));

      // Assess
      expect({ name, unknown: set.filter((key) => !(key in schema.shape)) }).toEqual({ name, unknown: [] });
      expect({ name, unset: requiredKeys(schema).filter((key) => !set.includes(key)) }).toEqual({ name, unset: [] });
      expect(() => loadConfig(schema, functionEnvironment(name, VALUES))).not.toThrow();
    }
  });

  it('derives each table variable, kafka variables only for kafka functions, and the variables of each use', () => {
    // Act
    const keys = Object.fromEntries(FUNCTION_NAMES.map((name) => [name, Object.keys(envSchemaOf(name).shape)]));

    // Assess
    expect(keys['send-order-email']?.sort()).toEqual(
      ['AWS_REGION', 'CANCELLATION_TEMPLATE', 'CONFIRMATION_TEMPLATE', 'IDEMPOTENCY_TABLE', 'SENDER_EMAIL'].sort(),
    );
    expect(keys['order-status']).toEqual(
      expect.arrayContaining(['KAFKA_BROKERS', 'ORDER_STATUS_TABLE', 'EVENT_BUS_NAME']),
    );
    expect(keys['order-api']).toEqual(
      expect.arrayContaining(['KAFKA_BROKERS', 'ORDER_STATUS_TABLE', 'IDEMPOTENCY_TABLE']),
    );
    expect(keys['order-api']).not.toContain('EVENT_BUS_NAME');
  });

  it('keeps the kafka refinement: registry credentials over plaintext fail', () => {
    // Prepare
    const env = {
      ...functionEnvironment('validate-order', VALUES),
      SCHEMA_REGISTRY_URL: 'http://registry:8081',
    };

    // Act
    const load = () => loadConfig(envSchemaOf('validate-order'), env);

    // Assess
    expect(load).toThrow(/SCHEMA_REGISTRY_URL: must be an https:\/\/ URL/);
  });

  it('fails naming a missing table variable', () => {
    // Prepare
    const { ANALYTICS_TABLE: _dropped, ...env } = functionEnvironment('order-analytics', VALUES);

    // Act
    const load = () => loadConfig(envSchemaOf('order-analytics'), env);

    // Assess
    expect(load).toThrow(/ANALYTICS_TABLE is required but not set/);
  });
});

describe('functionEnvironment', () => {
  it('sets kafka, tables, poller mode and uses in that order, from the resource values', () => {
    expect(functionEnvironment('order-status', VALUES)).toEqual({
      KAFKA_BROKERS: 'b-1.example:9098',
      KAFKA_AUTH: 'iam',
      SCHEMA_REGISTRY: 'glue',
      GLUE_REGISTRY_NAME: 'orderflow',
      SCHEMA_REGISTRY_URL: 'https://registry.example.com',
      SCHEMA_REGISTRY_SECRET_ARN: VALUES.kafka.schemaRegistrySecretArn,
      ORDER_STATUS_TABLE: 'table-order-status',
      POLLER_MODE: 'on-demand',
      EVENT_BUS_NAME: 'bus',
    });
    expect(Object.keys(functionEnvironment('order-status', VALUES))).toEqual([
      'KAFKA_BROKERS',
      'KAFKA_AUTH',
      'SCHEMA_REGISTRY',
      'GLUE_REGISTRY_NAME',
      'SCHEMA_REGISTRY_URL',
      'SCHEMA_REGISTRY_SECRET_ARN',
      'ORDER_STATUS_TABLE',
      'POLLER_MODE',
      'EVENT_BUS_NAME',
    ]);
  });

  it('sets no poller mode for order-api, no kafka variable for send-order-email, no secret when there is none', () => {
    // Prepare
    const noSecret = { ...VALUES, kafka: { ...VALUES.kafka, schemaRegistrySecretArn: undefined } };

    // Act
    const api = functionEnvironment('order-api', noSecret);
    const email = functionEnvironment('send-order-email', VALUES);

    // Assess
    expect(api).not.toHaveProperty('POLLER_MODE');
    expect(api).not.toHaveProperty('SCHEMA_REGISTRY_SECRET_ARN');
    expect(email).toEqual({
      IDEMPOTENCY_TABLE: 'table-idempotency',
      SENDER_EMAIL: 'orders@example.com',
      CONFIRMATION_TEMPLATE: 'confirmed',
      CANCELLATION_TEMPLATE: 'cancelled',
    });
  });
});

describe('what derives from the contract', () => {
  it('has no infra file decide anything on a function name', () => {
    // Prepare
    const names = FUNCTION_NAMES.join('|');
    const onName = new RegExp(
      `(===?|!==?)\\s*['"\`](${names})['"\`]|['"\`](${names})['"\`]\\s*(===?|!==?)|case\\s+['"\`](${names})['"\`]`,
    );

    // Act
    const offending = sourcesUnder('infra').flatMap((file) =>
      readFileSync(path.join(REPO_ROOT, file), 'utf8')
        .split('\n')
        .map((line, i) => ({ file, line: i + 1, text: line.trim() }))
        .filter(({ text }) => onName.test(text)),
    );

    // Assess
    expect(offending).toEqual([]);
  });

  it('keeps the contract bundle-safe: zod and shared/ only', () => {
    // Act
    const imports = [
      ...readFileSync(path.join(REPO_ROOT, 'shared', 'functions.ts'), 'utf8').matchAll(/from '([^']+)'/g),
    ].map((m) => m[1]);

    // Assess
    expect(imports.length).toBeGreaterThan(0);
    for (const source of imports) expect(source === 'zod' || /^\.\/[a-z-]+\.js$/.test(source ?? '')).toBe(true);
  });

  it('has no infra file import from local/', () => {
    // Act
    const offending = sourcesUnder('infra').filter((file) =>
      /from '(\.\.\/)+local\//.test(readFileSync(path.join(REPO_ROOT, file), 'utf8')),
    );

    // Assess
    expect(offending).toEqual([]);
  });
});
