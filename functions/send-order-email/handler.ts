/**
 * send-order-email Lambda: target of the `order-emails` rule. One email per order transition, even when
 * EventBridge delivers the event twice. Wiring only: config, clients, ports, `createHandler`.
 */
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { dynamoDbClientFor, sesClientFor } from '../../shared/aws-clients.js';
import { loadConfig } from '../../shared/config.js';
import { createHandler, type SendOrderEmailDeps, sendOrderEmailEnv } from './send-order-email-handler.js';
import { sesEmailSender } from './ses-sender.js';

/** Clients of the deployed function, created once per cold start; a missing variable throws `ConfigError`. */
export function defaultDeps(env: NodeJS.ProcessEnv = process.env): SendOrderEmailDeps {
  const config = loadConfig(sendOrderEmailEnv, env);
  const dynamo = dynamoDbClientFor(config.AWS_REGION);
  return {
    sender: sesEmailSender(sesClientFor(config.AWS_REGION)),
    persistenceStore: new DynamoDBPersistenceLayer({ tableName: config.IDEMPOTENCY_TABLE, awsSdkV3Client: dynamo }),
    source: config.SENDER_EMAIL,
    templates: { confirmation: config.CONFIRMATION_TEMPLATE, cancellation: config.CANCELLATION_TEMPLATE },
  };
}

/** Lambda entry point. */
export const handler = createHandler(defaultDeps());
