/**
 * onEvent handler of the `kafka-topics` custom resource (CDK Provider framework): on Create and Update it
 * reconciles the cluster's topics with the `Topics` property; on Delete it leaves them (deleting the cluster
 * deletes them, and dropping a topic on a rename would lose its records).
 */
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { logger } from '../../../shared/observability.js';
import {
  type ConnectedTopicAdmin,
  type DesiredTopic,
  kafkajsTopicAdmin,
  reconcileTopics,
} from '../../../shared/topic-reconciler.js';

/** Resource properties, as strings: CloudFormation passes every scalar as a string. */
export interface KafkaTopicsProperties {
  /** Comma-separated SASL/IAM bootstrap brokers. */
  readonly BootstrapBrokers: string;
  /** JSON array of `{ name, partitions, retentionMs }`. */
  readonly Topics: string;
}

/** What the Provider framework expects back. */
export interface KafkaTopicsResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string>;
}

/** Time kept back from the invocation's deadline to report failure before Lambda kills the handler. */
const SAFETY_MARGIN_MS = 30_000;

/** Parses the `Topics` property, failing with the value received. */
export function parseTopics(raw: string): DesiredTopic[] {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new Error(`Topics must be a json array, got ${JSON.stringify(raw)}`, { cause: error });
  }
  const valid = (t: unknown): t is DesiredTopic => {
    const o = t as Record<string, unknown> | null;
    return (
      typeof o === 'object' &&
      o !== null &&
      typeof o.name === 'string' &&
      Number.isInteger(o.partitions) &&
      Number.isInteger(o.retentionMs)
    );
  };
  if (!Array.isArray(value) || value.length === 0 || !value.every(valid)) {
    throw new Error(`Topics must be a non-empty array of {name, partitions, retentionMs}, got ${raw}`);
  }
  return value;
}

/** Builds the handler over an admin factory; tests pass a fake admin. */
export function createHandler(adminOf: (brokers: string[]) => ConnectedTopicAdmin) {
  return async function onEvent(
    event: CloudFormationCustomResourceEvent,
    context: Pick<Context, 'getRemainingTimeInMillis'>,
  ): Promise<KafkaTopicsResponse> {
    const physicalResourceId =
      event.RequestType === 'Create' ? `kafka-topics-${event.LogicalResourceId}` : event.PhysicalResourceId;
    if (event.RequestType === 'Delete') {
      logger.info('topics are kept on delete', { physicalResourceId });
      return { PhysicalResourceId: physicalResourceId };
    }
    const props = event.ResourceProperties as unknown as KafkaTopicsProperties;
    const topics = parseTopics(props.Topics);
    const brokers = props.BootstrapBrokers.split(',').map((b) => b.trim());
    const admin = adminOf(brokers);
    try {
      const summary = await reconcileTopics(admin, topics, {
        deadline: Date.now() + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS,
        log: (message, details) => logger.warn(message, { ...details }),
      });
      logger.info('topics reconciled', { ...summary });
      if (summary.partitionsAboveSpec.length > 0) {
        logger.warn('kafka cannot remove partitions; these topics keep more than the topology asks', {
          topics: summary.partitionsAboveSpec,
        });
      }
      return {
        PhysicalResourceId: physicalResourceId,
        Data: { Topics: topics.map((t) => t.name).join(','), Created: summary.created.join(',') },
      };
    } finally {
      await admin.disconnect().catch((error: unknown) => logger.warn('admin disconnect failed', { error }));
    }
  };
}

/**
 * Lambda entry: SASL/IAM to MSK Serverless, which picks the replication factor itself (the broker default is
 * left in place).
 */
export const handler = createHandler((brokers) =>
  kafkajsTopicAdmin({
    brokers,
    auth: 'iam',
    region: process.env.AWS_REGION ?? 'us-east-1',
    clientId: 'orderflow-kafka-topics',
  }),
);
