/**
 * Creates everything the functions expect, locally, from the same sources the CDK stack reads
 * (shared/topology.ts, shared/tables.ts): topics, value schemas with BACKWARD compatibility (in the
 * Confluent-compatible registry and in the Glue emulator, whichever mode runs), DynamoDB tables,
 * the SES sender and templates, the EventBridge bus with its rules routed to SQS queues (the emulator cannot
 * invoke functions; local/dev polls the queues). Every step reads before it writes, so a second run changes
 * nothing and reports every resource as unchanged. One module per service; this one only wires them.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GlueClient } from '@aws-sdk/client-glue';
import { SESClient } from '@aws-sdk/client-ses';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DEFAULT_SENDER_EMAIL } from '../../shared/email-templates.js';
import { type StackConfig, stackEnv } from '../stack/config.js';
import type { ProvisionChange } from './change.js';
import { provisionTables } from './dynamodb.js';
import { provisionBus } from './eventbridge.js';
import { provisionGlueSchemas } from './glue.js';
import { provisionSchemas } from './schemas.js';
import { provisionSes } from './ses.js';
import { provisionTopics } from './topics.js';

export type { ProvisionChange } from './change.js';
export { ruleEventPattern, ruleQueues } from './eventbridge.js';
export { GlueSchemaError, provisionGlueSchemas } from './glue.js';
export { provisionSchemas } from './schemas.js';

/** Options of `provision`. */
export interface ProvisionOptions {
  /** SES sender identity to verify. @default - env SENDER_EMAIL, else orders@orderflow.local */
  readonly senderEmail?: string;
  /** Progress output. @default - silent */
  readonly log?: (message: string) => void;
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
  // No explicit endpoint: every client takes its emulator from AWS_ENDPOINT_URL / _DYNAMODB / _GLUE,
  // which the callers set from `config` (applyStackEnv), exactly as the functions find theirs.
  const aws = {
    region: config.awsRegion,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID as string, secretAccessKey: env.AWS_SECRET_ACCESS_KEY as string },
  };
  const sender = options.senderEmail ?? process.env.SENDER_EMAIL ?? DEFAULT_SENDER_EMAIL;
  const [topics, schemas, glueSchemas, tables, ses, bus] = await Promise.all([
    provisionTopics(config, log),
    provisionSchemas(config.schemaRegistryUrl),
    provisionGlueSchemas(new GlueClient(aws)),
    provisionTables(new DynamoDBClient(aws)),
    provisionSes(new SESClient(aws), sender),
    provisionBus(new EventBridgeClient(aws), new SQSClient(aws)),
  ]);
  const changes = [...topics, ...schemas, ...glueSchemas, ...tables, ...ses, ...bus];
  for (const change of changes) {
    if (change.action !== 'unchanged')
      log(`${change.action} ${change.resource}${change.detail ? ` (${change.detail})` : ''}`);
  }
  return changes;
}
