import { DescribeTableCommand, DescribeTimeToLiveCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetIdentityVerificationAttributesCommand, GetTemplateCommand, SESClient } from '@aws-sdk/client-ses';
import { DeleteMessageCommand, GetQueueUrlCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import kafkajs, { Kafka, logLevel } from 'kafkajs';
import { DEFAULT_SENDER_EMAIL, EMAIL_TEMPLATES } from '../../shared/email-templates.js';
import { eventTopics } from '../../shared/schema-registry.js';
import { localTableName, TABLES } from '../../shared/tables.js';
import { EVENT_BUS_NAME, EVENT_SOURCE, RULES, TOPIC_SPECS, TOPICS, valueSubject } from '../../shared/topology.js';
import type { StackConfig } from '../stack/config.js';
import { requireRunningStack } from '../stack/preflight.js';
import { provision, ruleQueues } from './provision.js';
import { setSubjectCompatibility, subjectCompatibility } from './registry.js';

const { ConfigResourceTypes } = kafkajs;

describe('provision (local stack)', () => {
  let config: StackConfig;
  let aws: { region: string };

  beforeAll(async () => {
    config = await requireRunningStack();
    // The clients find the emulators through AWS_ENDPOINT_URL(_DYNAMODB), set by requireRunningStack.
    aws = { region: config.awsRegion };
  }, 30_000);

  it('changes nothing when run twice', async () => {
    // Act
    await provision(config);
    const second = await provision(config);

    // Assess
    expect(second.filter((c) => c.action !== 'unchanged')).toEqual([]);
    const resources = second.map((c) => c.resource);
    expect(resources).toEqual(
      expect.arrayContaining([
        ...TOPIC_SPECS.map((t) => `topic ${t.name}`),
        ...eventTopics().map((t) => `schema ${valueSubject(t)}`),
        'glue registry orderflow',
        ...eventTopics().map((t) => `glue schema orderflow/${valueSubject(t)}`),
        ...Object.values(TABLES).map((t) => `table ${localTableName(t)}`),
        ...EMAIL_TEMPLATES.map((t) => `ses template ${t.TemplateName}`),
        `ses identity ${DEFAULT_SENDER_EMAIL}`,
        `event bus ${EVENT_BUS_NAME}`,
        ...RULES.flatMap((r) => [
          `rule ${r.name}`,
          `queue ${ruleQueues(r).queue}`,
          `queue ${ruleQueues(r).deadLetterQueue}`,
        ]),
      ]),
    );
  }, 60_000);

  it('puts back a topic retention and a subject compatibility that drifted', async () => {
    // Prepare
    const kafka = new Kafka({
      clientId: 'orderflow-int-drift',
      brokers: [...config.kafkaBrokers],
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    const subject = valueSubject(TOPICS.ORDERS_VALIDATED);
    try {
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: TOPICS.ORDERS_DLQ,
            configEntries: [{ name: 'retention.ms', value: '60000' }],
          },
        ],
      });
      await setSubjectCompatibility(config.schemaRegistryUrl, subject, 'NONE');

      // Act
      const changes = await provision(config);

      // Assess
      const changed = changes.filter((c) => c.action !== 'unchanged');
      expect(changed.map((c) => c.resource).sort()).toEqual([`schema ${subject}`, `topic ${TOPICS.ORDERS_DLQ}`]);
      expect(await subjectCompatibility(config.schemaRegistryUrl, subject)).toBe('BACKWARD');
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPICS.ORDERS_DLQ, configNames: ['retention.ms'] }],
      });
      const retention = described.resources[0]?.configEntries[0]?.configValue;
      expect(retention).toBe(String(TOPIC_SPECS.find((t) => t.name === TOPICS.ORDERS_DLQ)?.retentionMs));
    } finally {
      await admin.disconnect();
    }
  }, 60_000);

  it('creates every table on demand, keyed by its partition key, with TTL where the spec has one', async () => {
    // Prepare
    const dynamodb = new DynamoDBClient(aws);

    for (const spec of Object.values(TABLES)) {
      // Act
      const { Table: table } = await dynamodb.send(new DescribeTableCommand({ TableName: localTableName(spec) }));
      const ttl = await dynamodb.send(new DescribeTimeToLiveCommand({ TableName: localTableName(spec) }));

      // Assess
      expect(table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
      expect(table?.KeySchema).toEqual([{ AttributeName: spec.partitionKey, KeyType: 'HASH' }]);
      const ttlAttribute = 'ttlAttribute' in spec ? spec.ttlAttribute : undefined;
      if (ttlAttribute) {
        expect(ttl.TimeToLiveDescription).toMatchObject({ TimeToLiveStatus: 'ENABLED', AttributeName: ttlAttribute });
      } else {
        expect(ttl.TimeToLiveDescription?.TimeToLiveStatus).not.toBe('ENABLED');
      }
    }
  });

  it('verifies the SES sender and stores both order-email templates', async () => {
    // Prepare
    const ses = new SESClient(aws);

    // Act
    const identity = await ses.send(
      new GetIdentityVerificationAttributesCommand({ Identities: [DEFAULT_SENDER_EMAIL] }),
    );
    const templates = await Promise.all(
      EMAIL_TEMPLATES.map((t) => ses.send(new GetTemplateCommand({ TemplateName: t.TemplateName }))),
    );

    // Assess
    expect(identity.VerificationAttributes?.[DEFAULT_SENDER_EMAIL]?.VerificationStatus).toBe('Success');
    expect(templates.map((t) => t.Template?.SubjectPart)).toEqual(EMAIL_TEMPLATES.map((t) => t.SubjectPart));
  });

  it('routes an order transition put on the bus to the rule queue', async () => {
    // Prepare
    const events = new EventBridgeClient(aws);
    const sqs = new SQSClient(aws);
    const rule = RULES[0];
    expect(rule).toBeDefined();
    const { QueueUrl: queueUrl } = await sqs.send(
      new GetQueueUrlCommand({ QueueName: ruleQueues(rule as (typeof RULES)[number]).queue }),
    );
    const orderId = `int-${Date.now()}`;

    // Act
    const put = await events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: EVENT_BUS_NAME,
            Source: EVENT_SOURCE,
            DetailType: 'OrderConfirmed',
            Detail: JSON.stringify({ orderId, status: 'CONFIRMED' }),
          },
        ],
      }),
    );
    type Delivered = { 'detail-type'?: string; detail?: { orderId?: string } };
    let body: Delivered | undefined;
    for (let attempt = 0; attempt < 10 && !body; attempt += 1) {
      const received = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      for (const message of received.Messages ?? []) {
        const parsed = JSON.parse(message.Body ?? '{}') as Delivered;
        if (parsed.detail?.orderId !== orderId) continue;
        body = parsed;
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
      }
    }

    // Assess
    expect(put.FailedEntryCount).toBe(0);
    expect(body).toMatchObject({ 'detail-type': 'OrderConfirmed', detail: { orderId } });
  }, 30_000);

  afterAll(async () => {
    // Leave the stack as provisioning defines it, whatever a failed assertion left behind.
    if (config) await provision(config);
  }, 60_000);
});
