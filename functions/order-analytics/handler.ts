/**
 * order-analytics Lambda: orders.validated in (its own consumer group), per-minute and running totals per
 * currency in the ANALYTICS table, per-order EMF metrics out.
 */
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { EventCodec } from '../../shared/codec.js';
import { kafkaEnv, loadConfig } from '../../shared/config.js';
import { TransientError } from '../../shared/errors.js';
import { kafkaHandler } from '../../shared/lambda.js';
import type { DeadLetterSink } from '../../shared/msk.js';
import { logger, metrics } from '../../shared/observability.js';
import { kafkaRuntime } from '../../shared/runtime.js';
import type { FunctionName } from '../../shared/topology.js';
import { type AnalyticsStore, type OrderCount, type OrderMetrics, recordOrderAnalytics } from './order-analytics.js';

const FUNCTION: FunctionName = 'order-analytics';

/** Environment of order-analytics: the Kafka variables plus the analytics table. */
export const orderAnalyticsEnv = kafkaEnv.extend({ ANALYTICS_TABLE: z.string().min(1) });

/** Parsed order-analytics configuration. */
export type OrderAnalyticsConfig = z.infer<typeof orderAnalyticsEnv>;

/** Reads and validates the configuration; throws `ConfigError` naming each missing variable. */
export function loadOrderAnalyticsConfig(env: NodeJS.ProcessEnv = process.env): OrderAnalyticsConfig {
  return loadConfig(orderAnalyticsEnv, env);
}

const ADD_ORDER = {
  UpdateExpression: 'ADD #orders :one, #revenue :revenue SET #currency = :currency',
  ExpressionAttributeNames: { '#orders': 'orders', '#revenue': 'revenueCents', '#currency': 'currency' },
};

/**
 * The ANALYTICS table as an `AnalyticsStore`. The marker Put and both ADDs are one transaction, so an order is
 * in the aggregates exactly when its marker exists. No ClientRequestToken on purpose: within its 10-minute
 * window a redelivered batch would succeed again and report the metrics twice.
 */
export function dynamoAnalyticsStore(client: DynamoDBDocumentClient, tableName: string): AnalyticsStore {
  return {
    recordOrder: async (count: OrderCount) => {
      const values = { ':one': 1, ':revenue': count.revenueCents, ':currency': count.currency };
      try {
        await client.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: tableName,
                  Item: {
                    pk: `ORDER#${count.orderId}`,
                    orderId: count.orderId,
                    eventId: count.eventId,
                    currency: count.currency,
                    revenueCents: count.revenueCents,
                    minute: count.minute,
                    validatedAt: count.validatedAt,
                  },
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              },
              {
                Update: {
                  TableName: tableName,
                  Key: { pk: `MINUTE#${count.minute}#${count.currency}` },
                  ...ADD_ORDER,
                  ExpressionAttributeValues: values,
                },
              },
              {
                Update: {
                  TableName: tableName,
                  Key: { pk: `TOTAL#${count.currency}` },
                  ...ADD_ORDER,
                  ExpressionAttributeValues: values,
                },
              },
            ],
          }),
        );
        return true;
      } catch (error) {
        if (!isTransactionCanceled(error)) throw error;
        // Reasons are positional: [0] is the marker Put (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html).
        const codes = (error.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
        if (codes[0] === 'ConditionalCheckFailed') return false;
        throw new TransientError(`analytics transaction for order ${count.orderId} cancelled: ${codes.join(', ')}`, {
          cause: error,
        });
      }
    },
    totals: async (currency) => {
      const { Item } = await client.send(new GetCommand({ TableName: tableName, Key: { pk: `TOTAL#${currency}` } }));
      if (!Item) return undefined;
      return { currency, orders: Number(Item.orders ?? 0), revenueCents: Number(Item.revenueCents ?? 0) };
    },
  };
}

function isTransactionCanceled(error: unknown): error is TransactionCanceledException {
  return (
    error instanceof TransactionCanceledException ||
    (error instanceof Error && error.name === 'TransactionCanceledException')
  );
}

/**
 * Per-order EMF metrics: `OrdersValidated` in the invocation's metrics, `Revenue` and `OrderValue` (cents) as
 * single metrics with a `currency` dimension, since sums across currencies mean nothing.
 */
export function emfOrderMetrics(target: Metrics = metrics): OrderMetrics {
  return {
    orderCounted: (count) => {
      target.addMetric('OrdersValidated', MetricUnit.Count, 1);
      for (const name of ['Revenue', 'OrderValue']) {
        // One single metric each: a single metric flushes and clears its dimensions on every addMetric.
        const single = target.singleMetric();
        single.addDimension('currency', count.currency);
        single.addMetric(name, MetricUnit.Count, count.revenueCents);
      }
    },
  };
}

/** What `createHandler` needs; tests pass an in-memory Kafka and a store over a mocked document client. */
export interface OrderAnalyticsDeps {
  readonly codec: EventCodec;
  readonly deadLetters: DeadLetterSink;
  readonly store: AnalyticsStore;
  /** @default - EMF through the shared Powertools `metrics` */
  readonly metrics?: OrderMetrics;
}

/** The order-analytics handler over `deps`. */
export function createHandler(deps: OrderAnalyticsDeps) {
  const ports = { store: deps.store, metrics: deps.metrics ?? emfOrderMetrics() };
  return kafkaHandler({
    consumer: FUNCTION,
    codec: deps.codec,
    deadLetters: deps.deadLetters,
    handle: async (event) => {
      const result = await recordOrderAnalytics(event, ports);
      switch (result.outcome) {
        case 'IGNORED':
          logger.debug('event type not counted; ignored', { type: result.type });
          return;
        case 'ALREADY_COUNTED':
          logger.info('order already counted; replay ignored', { minute: result.count.minute });
          return;
        case 'COUNTED':
          logger.info('order counted', {
            minute: result.count.minute,
            currency: result.count.currency,
            revenueCents: result.count.revenueCents,
          });
          return;
      }
    },
  });
}

/** Clients of the deployed function, created once per cold start; a missing variable throws `ConfigError`. */
export function defaultDeps(env: NodeJS.ProcessEnv = process.env): OrderAnalyticsDeps {
  const config = loadOrderAnalyticsConfig(env);
  const kafka = kafkaRuntime(config, FUNCTION);
  const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({ region: config.AWS_REGION }));
  return {
    codec: kafka.codec,
    deadLetters: kafka.deadLetters,
    store: dynamoAnalyticsStore(documentClient, config.ANALYTICS_TABLE),
  };
}

/** Lambda entry point. */
export const handler = createHandler(defaultDeps());
