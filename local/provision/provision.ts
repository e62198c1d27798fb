/**
 * Creates everything the functions expect, locally, from the same sources the CDK stack reads
 * (shared/topology.ts, shared/tables.ts): topics, value schemas with BACKWARD compatibility, DynamoDB tables,
 * the SES sender and templates, the EventBridge bus with its rules routed to SQS queues (the emulator cannot
 * invoke functions; local/dev polls the queues). Every step reads before it writes, so a second run changes
 * nothing and reports every resource as unchanged.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateEventBusCommand,
  DescribeEventBusCommand,
  DescribeRuleCommand,
  EventBridgeClient,
  ListTargetsByRuleCommand,
  PutRuleCommand,
  PutTargetsCommand,
  type Target,
} from '@aws-sdk/client-eventbridge';
import {
  CreateTemplateCommand,
  GetTemplateCommand,
  ListIdentitiesCommand,
  SESClient,
  UpdateTemplateCommand,
  VerifyEmailIdentityCommand,
} from '@aws-sdk/client-ses';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import kafkajs, { Kafka, logLevel } from 'kafkajs';
import { topicReaderSchema } from '../../shared/codec.js';
import { DEFAULT_SENDER_EMAIL, EMAIL_TEMPLATES } from '../../shared/email-templates.js';
import { eventTopics } from '../../shared/schema-registry.js';
import { localTableName, TABLES, type TableSpec } from '../../shared/tables.js';
import {
  EVENT_BUS_NAME,
  EVENT_SOURCE,
  RULES,
  type RuleSpec,
  TOPIC_SPECS,
  type TopicSpec,
  valueSubject,
} from '../../shared/topology.js';
import { type StackConfig, stackEnv } from '../stack/config.js';
import { lookupSchema, registerSchema, setSubjectCompatibility, subjectCompatibility } from './registry.js';

// kafkajs is CommonJS and Node cannot see this export by name.
const { ConfigResourceTypes } = kafkajs;

/** What provisioning did to one resource. */
export interface ProvisionChange {
  /** e.g. `topic orders.raw`, `schema orders.raw-value`, `table orderflow-catalog`. */
  readonly resource: string;
  readonly action: 'created' | 'updated' | 'unchanged';
  /** What was created or changed. */
  readonly detail?: string;
}

/** Options of `provision`. */
export interface ProvisionOptions {
  /** SES sender identity to verify. @default - env SENDER_EMAIL, else orders@orderflow.local */
  readonly senderEmail?: string;
  /** Progress output. @default - silent */
  readonly log?: (message: string) => void;
}

/** Queue names of a rule's SQS target and its dead-letter queue, locally. */
export function ruleQueues(rule: RuleSpec): { queue: string; deadLetterQueue: string } {
  return { queue: `orderflow-${rule.name}`, deadLetterQueue: `orderflow-${rule.name}-dlq` };
}

/** The event pattern of a rule, as the CDK stack declares it. */
export function ruleEventPattern(rule: RuleSpec): Record<string, unknown> {
  return { source: [EVENT_SOURCE], 'detail-type': [...rule.detailTypes] };
}

/**
 * Provisions the local stack at `config` and returns what changed.
 *
 * @example
 * const changes = await provision(stackConfig());
 * changes.filter((c) => c.action !== 'unchanged'); // [] on a second run
 */
export async function provision(config: StackConfig, options: ProvisionOptions = {}): Promise<ProvisionChange[]> {
  const log = options.log ?? (() => undefined);
  const env = stackEnv(config);
  // No explicit endpoint: every client takes its emulator from AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_DYNAMODB,
  // which the callers set from `config` (applyStackEnv), exactly as the functions find theirs.
  const aws = {
    region: config.awsRegion,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID as string, secretAccessKey: env.AWS_SECRET_ACCESS_KEY as string },
  };
  const sender = options.senderEmail ?? process.env.SENDER_EMAIL ?? DEFAULT_SENDER_EMAIL;
  const [topics, schemas, tables, ses, bus] = await Promise.all([
    provisionTopics(config.kafkaBrokers),
    provisionSchemas(config.schemaRegistryUrl),
    provisionTables(new DynamoDBClient(aws)),
    provisionSes(new SESClient(aws), sender),
    provisionBus(new EventBridgeClient(aws), new SQSClient(aws)),
  ]);
  const changes = [...topics, ...schemas, ...tables, ...ses, ...bus];
  for (const change of changes) {
    if (change.action !== 'unchanged')
      log(`${change.action} ${change.resource}${change.detail ? ` (${change.detail})` : ''}`);
  }
  return changes;
}

/** Topics with their partitions and `retention.ms`; partitions only ever grow (Kafka cannot shrink them). */
async function provisionTopics(brokers: readonly string[]): Promise<ProvisionChange[]> {
  const kafka = new Kafka({ clientId: 'orderflow-provision', brokers: [...brokers], logLevel: logLevel.WARN });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = TOPIC_SPECS.filter((t) => !existing.has(t.name));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor: 1,
          configEntries: [{ name: 'retention.ms', value: String(t.retentionMs) }],
        })),
      });
    }
    const changes: ProvisionChange[] = missing.map((t) => ({
      resource: `topic ${t.name}`,
      action: 'created',
      detail: `${t.partitions} partitions, retention.ms ${t.retentionMs}`,
    }));
    const present = TOPIC_SPECS.filter((t) => existing.has(t.name));
    if (present.length === 0) return changes;
    const metadata = await admin.fetchTopicMetadata({ topics: present.map((t) => t.name) });
    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: present.map((t) => ({ type: ConfigResourceTypes.TOPIC, name: t.name, configNames: ['retention.ms'] })),
    });
    for (const spec of present) {
      const fixes: string[] = [];
      const partitions = metadata.topics.find((m) => m.name === spec.name)?.partitions.length ?? 0;
      if (partitions < spec.partitions) {
        await admin.createPartitions({ topicPartitions: [{ topic: spec.name, count: spec.partitions }] });
        fixes.push(`partitions ${partitions} -> ${spec.partitions}`);
      }
      const retention = configs.resources
        .find((r) => r.resourceName === spec.name)
        ?.configEntries.find((e) => e.configName === 'retention.ms')?.configValue;
      if (retention !== String(spec.retentionMs)) {
        await setRetention(admin, spec);
        fixes.push(`retention.ms ${retention} -> ${spec.retentionMs}`);
      }
      changes.push({
        resource: `topic ${spec.name}`,
        action: fixes.length > 0 ? 'updated' : 'unchanged',
        detail: fixes.join(', ') || undefined,
      });
    }
    return changes;
  } finally {
    await admin.disconnect();
  }
}

async function setRetention(admin: ReturnType<Kafka['admin']>, spec: TopicSpec): Promise<void> {
  // kafkajs only has the non-incremental AlterConfigs; retention.ms is the only topic config orderflow sets.
  await admin.alterConfigs({
    validateOnly: false,
    resources: [
      {
        type: ConfigResourceTypes.TOPIC,
        name: spec.name,
        configEntries: [{ name: 'retention.ms', value: String(spec.retentionMs) }],
      },
    ],
  });
}

/** Each event topic's value schema under `<topic>-value`, then BACKWARD compatibility on the subject. */
export async function provisionSchemas(registryUrl: string): Promise<ProvisionChange[]> {
  const changes: ProvisionChange[] = [];
  // In topology order, so a fresh registry hands out ids in the order events/registry.json records them.
  for (const topic of eventTopics()) {
    const subject = valueSubject(topic);
    const schema = JSON.stringify(topicReaderSchema(topic));
    const known = await lookupSchema(registryUrl, subject, schema);
    const id = known ?? (await registerSchema(registryUrl, subject, schema));
    const fixes: string[] = known === undefined ? [`id ${id}`] : [];
    if ((await subjectCompatibility(registryUrl, subject)) !== 'BACKWARD') {
      await setSubjectCompatibility(registryUrl, subject, 'BACKWARD');
      fixes.push('compatibility BACKWARD');
    }
    changes.push({
      resource: `schema ${subject}`,
      action: known === undefined ? 'created' : fixes.length > 0 ? 'updated' : 'unchanged',
      detail: fixes.join(', ') || undefined,
    });
  }
  return changes;
}

/** One on-demand table per spec, keyed by its partition key, with TTL where the spec has one. */
async function provisionTables(dynamodb: DynamoDBClient): Promise<ProvisionChange[]> {
  const specs: TableSpec[] = Object.values(TABLES);
  return Promise.all(
    specs.map(async (spec): Promise<ProvisionChange> => {
      const name = localTableName(spec);
      const fixes: string[] = [];
      let created = false;
      try {
        await dynamodb.send(new DescribeTableCommand({ TableName: name }));
      } catch (error) {
        if ((error as Error).name !== 'ResourceNotFoundException') throw error;
        await dynamodb.send(
          new CreateTableCommand({
            TableName: name,
            BillingMode: 'PAY_PER_REQUEST',
            AttributeDefinitions: [{ AttributeName: spec.partitionKey, AttributeType: 'S' }],
            KeySchema: [{ AttributeName: spec.partitionKey, KeyType: 'HASH' }],
          }),
        );
        created = true;
        fixes.push(`key ${spec.partitionKey}`);
      }
      if (spec.ttlAttribute) {
        const ttl = await dynamodb.send(new DescribeTimeToLiveCommand({ TableName: name }));
        const description = ttl.TimeToLiveDescription;
        if (description?.TimeToLiveStatus !== 'ENABLED' || description.AttributeName !== spec.ttlAttribute) {
          await dynamodb.send(
            new UpdateTimeToLiveCommand({
              TableName: name,
              TimeToLiveSpecification: { Enabled: true, AttributeName: spec.ttlAttribute },
            }),
          );
          fixes.push(`TTL on ${spec.ttlAttribute}`);
        }
      }
      return {
        resource: `table ${name}`,
        action: created ? 'created' : fixes.length > 0 ? 'updated' : 'unchanged',
        detail: fixes.join(', ') || undefined,
      };
    }),
  );
}

/** The verified sender identity and the two order-email templates. */
async function provisionSes(ses: SESClient, sender: string): Promise<ProvisionChange[]> {
  const changes: ProvisionChange[] = [];
  const identities = await ses.send(new ListIdentitiesCommand({ IdentityType: 'EmailAddress' }));
  if (identities.Identities?.includes(sender)) {
    changes.push({ resource: `ses identity ${sender}`, action: 'unchanged' });
  } else {
    await ses.send(new VerifyEmailIdentityCommand({ EmailAddress: sender }));
    changes.push({ resource: `ses identity ${sender}`, action: 'created', detail: 'verified' });
  }
  for (const template of EMAIL_TEMPLATES) {
    const resource = `ses template ${template.TemplateName}`;
    let current: typeof template | undefined;
    try {
      current = (await ses.send(new GetTemplateCommand({ TemplateName: template.TemplateName }))).Template;
    } catch (error) {
      if (
        (error as Error).name !== 'TemplateDoesNotExistException' &&
        (error as Error).name !== 'TemplateDoesNotExist'
      ) {
        throw error;
      }
    }
    if (!current) {
      await ses.send(new CreateTemplateCommand({ Template: template }));
      changes.push({ resource, action: 'created' });
    } else if (
      current.SubjectPart !== template.SubjectPart ||
      current.TextPart !== template.TextPart ||
      current.HtmlPart !== template.HtmlPart
    ) {
      await ses.send(new UpdateTemplateCommand({ Template: template }));
      changes.push({ resource, action: 'updated' });
    } else {
      changes.push({ resource, action: 'unchanged' });
    }
  }
  return changes;
}

/** The bus, and per rule: its target queue and dead-letter queue, the rule, and the rule's target. */
async function provisionBus(events: EventBridgeClient, sqs: SQSClient): Promise<ProvisionChange[]> {
  const changes: ProvisionChange[] = [];
  try {
    await events.send(new DescribeEventBusCommand({ Name: EVENT_BUS_NAME }));
    changes.push({ resource: `event bus ${EVENT_BUS_NAME}`, action: 'unchanged' });
  } catch (error) {
    if ((error as Error).name !== 'ResourceNotFoundException') throw error;
    await events.send(new CreateEventBusCommand({ Name: EVENT_BUS_NAME }));
    changes.push({ resource: `event bus ${EVENT_BUS_NAME}`, action: 'created' });
  }
  for (const rule of RULES) {
    const names = ruleQueues(rule);
    const dlq = await ensureQueue(sqs, names.deadLetterQueue, changes);
    const queue = await ensureQueue(sqs, names.queue, changes);
    changes.push(await ensureRule(events, rule));
    changes.push(await ensureTarget(events, rule, queue.arn, dlq.arn));
  }
  return changes;
}

async function ensureQueue(
  sqs: SQSClient,
  name: string,
  changes: ProvisionChange[],
): Promise<{ url: string; arn: string }> {
  let url: string | undefined;
  let created = false;
  try {
    url = (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
  } catch (error) {
    const e = error as Error & { Code?: string };
    if (!/QueueDoesNotExist|NonExistentQueue/.test(`${e.name} ${e.Code ?? ''}`)) throw error;
  }
  if (!url) {
    url = (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl;
    created = true;
  }
  if (!url) throw new Error(`SQS returned no URL for queue ${name}`);
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn', 'Policy'] }),
  );
  const arn = attributes.Attributes?.QueueArn;
  if (!arn) throw new Error(`SQS returned no ARN for queue ${name}`);
  // What the CDK's SqsQueue target grants: EventBridge may send to the queue.
  const policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AllowEventBridge',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: arn,
      },
    ],
  });
  const policyChanged = !sameJson(attributes.Attributes?.Policy, policy);
  if (policyChanged) await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { Policy: policy } }));
  changes.push({
    resource: `queue ${name}`,
    action: created ? 'created' : policyChanged ? 'updated' : 'unchanged',
    detail: policyChanged && !created ? 'policy' : undefined,
  });
  return { url, arn };
}

async function ensureRule(events: EventBridgeClient, rule: RuleSpec): Promise<ProvisionChange> {
  const resource = `rule ${rule.name}`;
  const pattern = JSON.stringify(ruleEventPattern(rule));
  let current: { EventPattern?: string; State?: string } | undefined;
  try {
    current = await events.send(new DescribeRuleCommand({ Name: rule.name, EventBusName: EVENT_BUS_NAME }));
  } catch (error) {
    if ((error as Error).name !== 'ResourceNotFoundException') throw error;
  }
  if (current && sameJson(current.EventPattern, pattern) && current.State === 'ENABLED') {
    return { resource, action: 'unchanged' };
  }
  await events.send(
    new PutRuleCommand({
      Name: rule.name,
      EventBusName: EVENT_BUS_NAME,
      EventPattern: pattern,
      State: 'ENABLED',
      Description: `${rule.detailTypes.join(', ')} -> ${rule.target} (locally: SQS ${ruleQueues(rule).queue})`,
    }),
  );
  return { resource, action: current ? 'updated' : 'created' };
}

async function ensureTarget(
  events: EventBridgeClient,
  rule: RuleSpec,
  queueArn: string,
  deadLetterArn: string,
): Promise<ProvisionChange> {
  const resource = `target ${rule.name} -> ${ruleQueues(rule).queue}`;
  const wanted: Target = {
    Id: rule.target,
    Arn: queueArn,
    DeadLetterConfig: { Arn: deadLetterArn },
    RetryPolicy: { MaximumRetryAttempts: rule.maxRetries, MaximumEventAgeInSeconds: rule.maxEventAgeSeconds },
  };
  const { Targets: targets = [] } = await events.send(
    new ListTargetsByRuleCommand({ Rule: rule.name, EventBusName: EVENT_BUS_NAME }),
  );
  const current = targets.find((t) => t.Id === wanted.Id);
  const same =
    current !== undefined &&
    current.Arn === wanted.Arn &&
    current.DeadLetterConfig?.Arn === deadLetterArn &&
    current.RetryPolicy?.MaximumRetryAttempts === rule.maxRetries &&
    current.RetryPolicy?.MaximumEventAgeInSeconds === rule.maxEventAgeSeconds;
  if (same) return { resource, action: 'unchanged' };
  await events.send(new PutTargetsCommand({ Rule: rule.name, EventBusName: EVENT_BUS_NAME, Targets: [wanted] }));
  return { resource, action: current ? 'updated' : 'created' };
}

function sameJson(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  try {
    return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
  } catch {
    return false;
  }
}
