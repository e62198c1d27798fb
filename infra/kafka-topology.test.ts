import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { minimumRetryWindowMs } from '../local/esm/delivery.js';
import {
  dynamoDbClientFor,
  eventBridgeClientFor,
  managementApiClientFor,
  SDK_RETRY_POLICY,
  sesClientFor,
} from '../shared/aws-clients.js';
import { CONSUMERS, FUNCTION_NAMES, TOPICS } from '../shared/topology.js';
import { REPO_ROOT } from './constructs/orderflow-function.js';
import { kafkaFunctions, kafkaMappings, mappingGroupId, producedTopics } from './kafka-topology.js';
import { functionLogicalId } from './orderflow-stack.js';
import { synthOrderflow } from './testing.js';

describe('kafkaMappings', () => {
  it('makes one mapping per consumer topic, each with its own group derived from the topology group', () => {
    // Act
    const mappings = kafkaMappings();

    // Assess
    expect(mappings).toHaveLength(CONSUMERS.reduce((n, c) => n + c.topics.length, 0));
    expect(new Set(mappings.map((m) => m.groupId)).size).toBe(mappings.length);
    for (const m of mappings) expect(m.groupId).toBe(`${m.consumer.groupId}@${m.topic}`);
  });

  it('keeps group ids within lambda limits', () => {
    for (const m of kafkaMappings()) {
      expect(m.groupId).toMatch(/^[a-zA-Z0-9\-/*:_+=.@]{1,200}$/);
    }
  });

  it('does not rename a consumer group when its consumer gains a topic', () => {
    // Prepare
    const [consumer] = CONSUMERS;
    if (!consumer) throw new Error('no consumers');

    // Act
    const before = mappingGroupId(consumer, TOPICS.ORDERS_RAW);
    const after = kafkaMappings([{ ...consumer, topics: [TOPICS.ORDERS_RAW, TOPICS.PAYMENT_EVENTS] }])[0]?.groupId;

    // Assess
    expect(after).toBe(before);
  });
});

describe('producedTopics', () => {
  it('lists the topics of the events a function emits, plus the dead-letter topic for consumers', () => {
    expect(producedTopics('order-api')).toEqual([TOPICS.ORDERS_RAW]);
    expect(producedTopics('validate-order').sort()).toEqual([TOPICS.ORDERS_VALIDATED, TOPICS.ORDERS_DLQ].sort());
    expect(producedTopics('order-status')).toEqual([TOPICS.ORDERS_DLQ]);
    expect(producedTopics('send-order-email')).toEqual([]);
  });

  it('puts every function on kafka but the email and live-update ones, which neither consume nor produce', () => {
    const offKafka = ['send-order-email', 'live-connections', 'live-notifier'];
    expect(kafkaFunctions()).toEqual(FUNCTION_NAMES.filter((f) => !offKafka.includes(f)));
  });
});

/** The rows of the first table under `heading` in docs/retry-policy.md, by their first cell. */
function policyTable(heading: string): Map<string, string[]> {
  const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'retry-policy.md'), 'utf8');
  const section = doc.slice(doc.indexOf(`## ${heading}`));
  const lines = section.split('\n');
  const start = lines.findIndex((line) => line.startsWith('| '));
  const end = lines.findIndex((line, i) => i > start && !line.startsWith('|'));
  const rows = lines.slice(start + 2, end < 0 ? undefined : end).map((line) =>
    line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim()),
  );
  return new Map(rows.map(([name, ...cells]) => [name ?? '', cells]));
}

describe('the retry policy table (docs/retry-policy.md)', () => {
  it('matches the retry settings of every event-source mapping the stack synthesizes', () => {
    // Prepare
    const table = policyTable('Kafka event-source mappings');
    const resources = synthOrderflow({ bundle: false }).template.toJSON().Resources as Record<
      string,
      { Type: string; Properties: Record<string, unknown> }
    >;
    const mappings = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping');
    const byFunction = (fn: string) =>
      mappings.filter((m) => JSON.stringify(m.Properties.FunctionName).includes(functionLogicalId(fn as never)));

    // Act
    const synthesized = CONSUMERS.map((c) => {
      const found = byFunction(c.function);
      expect(found).toHaveLength(c.topics.length);
      const settings = found.map((m) => [
        String(m.Properties.MaximumRetryAttempts),
        String(m.Properties.MaximumRecordAgeInSeconds),
        String(m.Properties.BisectBatchOnFunctionError),
        String(JSON.stringify(m.Properties.FunctionResponseTypes ?? []).includes('ReportBatchItemFailures')),
      ]);
      return [c.function, settings] as const;
    });

    // Assess: one row per consumer, and every mapping of the consumer as the row says.
    expect([...table.keys()].sort()).toEqual(CONSUMERS.map((c) => c.function).sort());
    for (const [fn, settings] of synthesized) {
      for (const s of settings) expect([fn, ...s]).toEqual([fn, ...(table.get(fn) ?? [])]);
    }
  }, 120_000);

  it('gives a 30 s outage no way to exhaust a record retries locally', () => {
    for (const c of CONSUMERS) expect(minimumRetryWindowMs(c.retryAttempts)).toBeGreaterThanOrEqual(30_000);
  });
});

describe('the SDK client table (docs/retry-policy.md)', () => {
  it('matches the retry mode, attempts and timeouts of the clients the functions create', async () => {
    // Prepare
    const table = policyTable('AWS SDK clients');
    const clients = {
      dynamodb: dynamoDbClientFor('us-east-1'),
      eventbridge: eventBridgeClientFor('us-east-1'),
      ses: sesClientFor('us-east-1'),
      'apigateway-management': managementApiClientFor('us-east-1', 'http://127.0.0.1:3000/_live'),
    };

    // Act
    const actual = await Promise.all(
      Object.entries(clients).map(async ([name, client]) => {
        const handler = client.config.requestHandler as unknown as { configProvider?: Promise<object> };
        const http = ((await handler.configProvider) ?? {}) as { connectionTimeout?: number; requestTimeout?: number };
        return [
          name,
          String(((await client.config.retryStrategy()) as { mode?: string }).mode),
          String(await client.config.maxAttempts()),
          String(http.connectionTimeout),
          String(http.requestTimeout),
        ];
      }),
    );

    // Assess
    expect([...table.keys()].sort()).toEqual(Object.keys(SDK_RETRY_POLICY).sort());
    for (const row of actual) expect(row).toEqual([row[0], ...(table.get(row[0] ?? '') ?? [])]);
  });
});
