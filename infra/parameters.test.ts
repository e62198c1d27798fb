import { describe, expect, it } from '@jest/globals';
import { loadParameters, ParameterError, stageName } from './parameters.js';

const valid = {
  senderEmail: 'Orderflow <orders@example.com>',
  schemaRegistryUrl: 'https://registry.example.com',
  alarmEmail: 'ops@example.com',
};

const fromContext = (values: Record<string, unknown>) => (key: string) => values[key];

describe('loadParameters', () => {
  it('reads context and defaults the poller mode to provisioned', () => {
    // Act
    const params = loadParameters(fromContext(valid), {});

    // Assess
    expect(params).toEqual({
      ...valid,
      schemaRegistry: 'confluent',
      pollerMode: 'provisioned',
      schemaRegistrySecretArn: undefined,
      webhookUrl: undefined,
    });
  });

  it('falls back to ORDERFLOW_* variables, and context wins over them', () => {
    // Act
    const params = loadParameters(fromContext({ alarmEmail: 'context@example.com' }), {
      ORDERFLOW_SENDER_EMAIL: 'orders@example.com',
      ORDERFLOW_SCHEMA_REGISTRY_URL: 'http://registry.internal:8081',
      ORDERFLOW_ALARM_EMAIL: 'env@example.com',
      ORDERFLOW_POLLER_MODE: 'on-demand',
      ORDERFLOW_WEBHOOK_URL: 'https://hooks.example.com/x',
    });

    // Assess
    expect(params).toMatchObject({
      senderEmail: 'orders@example.com',
      schemaRegistryUrl: 'http://registry.internal:8081',
      alarmEmail: 'context@example.com',
      pollerMode: 'on-demand',
      webhookUrl: 'https://hooks.example.com/x',
    });
  });

  it('fails when required parameters are missing, naming each with where to set it', () => {
    // Act
    const load = () => loadParameters(fromContext({}), {});

    // Assess
    expect(load).toThrow(ParameterError);
    expect(load).toThrow(
      'invalid orderflow parameters: senderEmail is required: pass -c senderEmail=... or set ORDERFLOW_SENDER_EMAIL; ' +
        'alarmEmail is required: pass -c alarmEmail=... or set ORDERFLOW_ALARM_EMAIL',
    );
  });

  it('selects glue mode with only the sender and alarm addresses: no url, no secret', () => {
    // Act
    const params = loadParameters(fromContext({ senderEmail: valid.senderEmail, alarmEmail: valid.alarmEmail }), {});

    // Assess
    expect(params).toMatchObject({ schemaRegistry: 'glue', schemaRegistryUrl: undefined });
    expect(params.schemaRegistrySecretArn).toBeUndefined();
  });

  it('writes glue while still reading the confluent registry when both are given (a migration)', () => {
    // Act
    const params = loadParameters(fromContext({ ...valid, schemaRegistry: 'glue' }), {});

    // Assess
    expect(params).toMatchObject({ schemaRegistry: 'glue', schemaRegistryUrl: valid.schemaRegistryUrl });
  });

  it('reads the registry mode from ORDERFLOW_SCHEMA_REGISTRY', () => {
    // Act
    const params = loadParameters(fromContext(valid), { ORDERFLOW_SCHEMA_REGISTRY: 'glue' });

    // Assess
    expect(params.schemaRegistry).toBe('glue');
  });

  it('fails when the registry mode is unknown, or confluent without a url, or a secret has no registry', () => {
    // Prepare
    const base = { senderEmail: valid.senderEmail, alarmEmail: valid.alarmEmail };
    const secret = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:orderflow-registry-AbCdEf';

    // Act
    const unknown = () => loadParameters(fromContext({ ...valid, schemaRegistry: 'apicurio' }), {});
    const noUrl = () => loadParameters(fromContext({ ...base, schemaRegistry: 'confluent' }), {});
    const orphanSecret = () => loadParameters(fromContext({ ...base, schemaRegistrySecretArn: secret }), {});

    // Assess
    expect(unknown).toThrow('schemaRegistry must be "glue" or "confluent", got "apicurio"');
    expect(noUrl).toThrow(
      'schemaRegistry "confluent" needs schemaRegistryUrl: pass -c schemaRegistryUrl=... or set ORDERFLOW_SCHEMA_REGISTRY_URL',
    );
    expect(orphanSecret).toThrow(
      `schemaRegistrySecretArn is for the registry at schemaRegistryUrl, which is not set (got schemaRegistrySecretArn "${secret}")`,
    );
  });

  it('fails when values are malformed, showing each value received', () => {
    // Act
    const load = () =>
      loadParameters(
        fromContext({
          senderEmail: 'not-an-email',
          schemaRegistryUrl: 'ftp://registry',
          schemaRegistrySecretArn: 'my-secret',
          pollerMode: 'eager',
          alarmEmail: 'ops',
          webhookUrl: 'http://hooks.example.com',
        }),
        {},
      );

    // Assess
    expect(load).toThrow('senderEmail must be an email address (optionally "Name <address>"), got "not-an-email"');
    expect(load).toThrow('schemaRegistryUrl must be an http(s) url, got "ftp://registry"');
    expect(load).toThrow('schemaRegistrySecretArn must be a secrets manager secret arn, got "my-secret"');
    expect(load).toThrow('pollerMode must be "provisioned" or "on-demand", got "eager"');
    expect(load).toThrow('alarmEmail must be an email address, got "ops"');
    expect(load).toThrow(
      'webhookUrl must be an https url (eventbridge api destinations require https), got "http://hooks.example.com"',
    );
  });

  it('reads the stage from context or ORDERFLOW_STAGE, and has none by default', () => {
    // Act
    const none = loadParameters(fromContext(valid), {});
    const fromEnv = loadParameters(fromContext(valid), { ORDERFLOW_STAGE: 'pr-42' });
    const fromCtx = loadParameters(fromContext({ ...valid, stage: 'dev' }), { ORDERFLOW_STAGE: 'pr-42' });

    // Assess
    expect(none.stage).toBeUndefined();
    expect(fromEnv.stage).toBe('pr-42');
    expect(fromCtx.stage).toBe('dev');
  });

  it.each(['Dev', 'dev_1', '-dev', 'dev-', 'a-very-long-stage', 'dev.1'])('fails when the stage is %j', (stage) => {
    // Act
    const load = () => loadParameters(fromContext({ ...valid, stage }), {});

    // Assess
    expect(load).toThrow(
      `stage must be 1-12 lowercase letters, digits or inner hyphens (it suffixes physical names), got ${JSON.stringify(stage)}`,
    );
  });
});

describe('stageName', () => {
  it('keeps the base name without a stage and suffixes it with one', () => {
    // Assess
    expect(stageName('orderflow', undefined)).toBe('orderflow');
    expect(stageName('orderflow', 'dev')).toBe('orderflow-dev');
  });
});
