/**
 * The EventBridge bus with the topology's rules, locally. The emulator cannot invoke functions, so each rule
 * targets an SQS queue (with a dead-letter queue) that local/dev polls.
 */
import {
  CreateEventBusCommand,
  DescribeEventBusCommand,
  DescribeRuleCommand,
  type EventBridgeClient,
  ListTargetsByRuleCommand,
  PutRuleCommand,
  PutTargetsCommand,
  type Target,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { EVENT_BUS_NAME, EVENT_SOURCE, RULES, type RuleSpec } from '../../shared/topology.js';
import type { ProvisionChange } from './change.js';

/** Queue names of a rule's SQS target and its dead-letter queue, locally. */
export function ruleQueues(rule: RuleSpec): { queue: string; deadLetterQueue: string } {
  return { queue: `orderflow-${rule.name}`, deadLetterQueue: `orderflow-${rule.name}-dlq` };
}

/** The event pattern of a rule, as the CDK stack declares it. */
export function ruleEventPattern(rule: RuleSpec): Record<string, unknown> {
  return { source: [EVENT_SOURCE], 'detail-type': [...rule.detailTypes] };
}

/** The bus, and per rule: its target queue and dead-letter queue, the rule, and the rule's target. */
export async function provisionBus(events: EventBridgeClient, sqs: SQSClient): Promise<ProvisionChange[]> {
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
