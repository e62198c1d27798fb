/**
 * order-status Lambda: every order topic in, one status item per order in DynamoDB, final transitions out on
 * the EventBridge bus.
 */

import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { EventCodec } from '../../shared/codec.js';
import { kafkaEnv, loadConfig } from '../../shared/config.js';
import { TransientError } from '../../shared/errors.js';
import { kafkaHandler } from '../../shared/lambda.js';
import type { DeadLetterSink } from '../../shared/msk.js';
import { logger, metrics } from '../../shared/observability.js';
import { kafkaRuntime } from '../../shared/runtime.js';
import { EVENT_SOURCE, type FunctionName } from '../../shared/topology.js';
import {
  type BusPublisher,
  detailTypeOf,
  type OrderStatusItem,
  type OrderStore,
  prefetchedStore,
  trackOrderEvent,
  VersionConflictError,
} from './order-status.js';

const FUNCTION: FunctionName = 'order-status';

const config = loadConfig(
  kafkaEnv.extend({ ORDER_STATUS_TABLE: z.string().min(1), EVENT_BUS_NAME: z.string().min(1) }),
);
const kafka = kafkaRuntime(config, FUNCTION);
const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({ region: config.AWS_REGION }), {
  marshallOptions: { removeUndefinedValues: true },
});
const eventBridge = new EventBridgeClient({ region: config.AWS_REGION });

/** BatchGetItem reads at most 100 keys per call. */
const BATCH_GET_LIMIT = 100;

/** The ORDER_STATUS table as an `OrderStore`: consistent reads, writes conditional on the version read. */
export function dynamoOrderStore(client: DynamoDBDocumentClient, tableName: string): OrderStore {
  return {
    get: async (orderId) => {
      const { Item } = await client.send(
        new GetCommand({ TableName: tableName, Key: { orderId }, ConsistentRead: true }),
      );
      return Item as OrderStatusItem | undefined;
    },
    getMany: async (orderIds) => {
      const found = new Map<string, OrderStatusItem | undefined>();
      for (let i = 0; i < orderIds.length; i += BATCH_GET_LIMIT) {
        const chunk = orderIds.slice(i, i + BATCH_GET_LIMIT);
        const result = await client.send(
          new BatchGetCommand({
            RequestItems: { [tableName]: { Keys: chunk.map((orderId) => ({ orderId })), ConsistentRead: true } },
          }),
        );
        // Keys DynamoDB left unprocessed stay out of the map; `get` reads them one by one
        // (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html).
        const unprocessed = new Set(
          (result.UnprocessedKeys?.[tableName]?.Keys ?? []).map((key) => String(key.orderId)),
        );
        for (const orderId of chunk) if (!unprocessed.has(orderId)) found.set(orderId, undefined);
        for (const item of result.Responses?.[tableName] ?? []) {
          found.set(String(item.orderId), item as OrderStatusItem);
        }
      }
      return found;
    },
    put: async (item, expectedVersion) => {
      const condition =
        expectedVersion === undefined
          ? { ConditionExpression: 'attribute_not_exists(orderId)' }
          : {
              ConditionExpression: '#version = :expected',
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':expected': expectedVersion },
            };
      try {
        await client.send(new PutCommand({ TableName: tableName, Item: item, ...condition }));
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) {
          throw new VersionConflictError(`order ${item.orderId} changed since version ${expectedVersion ?? 'none'}`, {
            cause: error,
          });
        }
        throw error;
      }
    },
  };
}

/** The orderflow bus as a `BusPublisher`; an entry EventBridge did not accept fails the whole call. */
export function eventBridgePublisher(client: EventBridgeClient, eventBusName: string): BusPublisher {
  return {
    publish: async (transitions) => {
      // PutEvents takes at most 10 entries; an order has at most one final transition, a call at most a few.
      for (let i = 0; i < transitions.length; i += 10) {
        const chunk = transitions.slice(i, i + 10);
        const result = await client.send(
          new PutEventsCommand({
            Entries: chunk.map((detail) => ({
              EventBusName: eventBusName,
              Source: EVENT_SOURCE,
              DetailType: detailTypeOf(detail.status),
              Detail: JSON.stringify(detail),
              Time: new Date(detail.occurredAt),
            })),
          }),
        );
        if ((result.FailedEntryCount ?? 0) > 0) {
          const codes = (result.Entries ?? []).map((e) => e.ErrorCode).filter(Boolean);
          throw new TransientError(
            `EventBridge rejected ${result.FailedEntryCount} of ${chunk.length} entries: ${codes}`,
          );
        }
      }
    },
  };
}

/** What `createHandler` needs: the Kafka side and the two ports. */
export interface OrderStatusDeps {
  readonly codec: EventCodec;
  readonly deadLetters: DeadLetterSink;
  readonly store: OrderStore;
  readonly bus: BusPublisher;
  /** @default - the system clock */
  readonly clock?: () => Date;
}

/** The order-status handler over `deps`; tests pass mocked clients and an in-memory Kafka. */
export function createHandler(deps: OrderStatusDeps) {
  const clock = deps.clock ?? (() => new Date());
  return kafkaHandler({
    consumer: FUNCTION,
    codec: deps.codec,
    deadLetters: deps.deadLetters,
    // One consistent BatchGetItem for the orders of the batch instead of a GetItem per record.
    prepare: async (events) => {
      try {
        return await prefetchedStore(
          deps.store,
          events.map((e) => e.orderId),
        );
      } catch (error) {
        logger.warn('orders of the batch could not be read up front; reading them one by one', { error });
        return deps.store;
      }
    },
    handle: async (event, _record, _trace, store) => {
      const outcome = await trackOrderEvent(event, { store, bus: deps.bus, clock });
      if (!outcome.applied) logger.info('event already applied', { eventId: event.eventId, type: event.type });
      else if (outcome.status !== outcome.previousStatus) {
        logger.info('order status changed', { from: outcome.previousStatus, to: outcome.status, type: event.type });
      }
      for (const detail of outcome.published) {
        logger.info('order transition published', { transitionId: detail.transitionId });
        metrics.addMetric('TransitionsPublished', MetricUnit.Count, 1);
      }
    },
  });
}

/** Lambda entry point. */
export const handler = createHandler({
  codec: kafka.codec,
  deadLetters: kafka.deadLetters,
  store: dynamoOrderStore(documentClient, config.ORDER_STATUS_TABLE),
  bus: eventBridgePublisher(eventBridge, config.EVENT_BUS_NAME),
});
