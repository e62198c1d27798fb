/**
 * Lambda entry of the order API (HTTP API, payload format 2.0): config, Kafka publisher, DynamoDB clients and
 * Powertools idempotency, wired once per cold start around the logic in `order-api.ts`.
 */
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyUnknownError,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { z } from 'zod';
import { kafkaEnv, loadConfig } from '../../shared/config.js';
import { TransientError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import type { EventPublisher, RecordProducer } from '../../shared/kafka.js';
import { logger, metrics, traceInvocations } from '../../shared/observability.js';
import { kafkaRuntime } from '../../shared/runtime.js';
import { ORDER_API_TIMEOUT_SECONDS } from '../../shared/timeouts.js';
import {
  type Clock,
  handleRequest,
  IdempotencyConflictError,
  type IdempotencyGuard,
  type IdempotentRequest,
  type IdSource,
  ORDER_VIEW_ATTRIBUTES,
  type OrderReader,
  type PlacedOrder,
  RequestInProgressError,
} from './order-api.js';

/** Environment of order-api: the Kafka variables plus its two tables. */
export const orderApiEnv = kafkaEnv.extend({
  ORDER_STATUS_TABLE: z.string().min(1),
  IDEMPOTENCY_TABLE: z.string().min(1),
});

/** Parsed order-api configuration. */
export type OrderApiConfig = z.infer<typeof orderApiEnv>;

/** Reads and validates the configuration; throws `ConfigError` naming each missing variable. */
export function loadOrderApiConfig(env: NodeJS.ProcessEnv = process.env): OrderApiConfig {
  return loadConfig(orderApiEnv, env);
}

/** How long a completed `Idempotency-Key` replays its first answer; after that the derived orderId still holds. */
const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;

/** Stable prefix of idempotency keys, so renaming the deployed function does not forget in-flight keys. */
const IDEMPOTENCY_KEY_PREFIX = 'order-api#POST /orders';

/**
 * Longest the producer waits for one broker answer before retrying, a fifth of the function timeout: a stalled
 * request is retried inside the request's publish budget, and a send given up on at its deadline stops retrying
 * about 25 s later (measured against a stalled broker) rather than minutes later with kafkajs's 30 s default.
 */
const PRODUCE_REQUEST_TIMEOUT_MS = (ORDER_API_TIMEOUT_SECONDS * 1000) / 5;

/** What `createHandler` wires together; tests pass MemoryKafka and mocked SDK clients. */
export interface OrderApiDeps {
  readonly config: Pick<OrderApiConfig, 'ORDER_STATUS_TABLE' | 'IDEMPOTENCY_TABLE'>;
  readonly publisher: EventPublisher;
  /** Reads the order-status table. */
  readonly documentClient: DynamoDBDocumentClient;
  /** Client of the idempotency persistence layer (Powertools speaks the low-level API). */
  readonly dynamoDbClient: DynamoDBClient;
  /** @default - wall clock */
  readonly clock?: Clock;
  /** @default - random UUIDs */
  readonly ids?: IdSource;
}

/** The order API's Lambda handler type; also what the local dev server serves. */
export type OrderApiHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * Builds the middy handler over `deps`. Idempotency config is created here, once, because Powertools configures
 * a persistence layer only on first use.
 */
export function createHandler(deps: OrderApiDeps) {
  const idempotencyConfig = new IdempotencyConfig({
    eventKeyJmesPath: '[customerId, idempotencyKey]',
    payloadValidationJmesPath: 'order',
    expiresAfterSeconds: IDEMPOTENCY_TTL_SECONDS,
  });
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: deps.config.IDEMPOTENCY_TABLE,
    awsSdkV3Client: deps.dynamoDbClient,
  });
  const ports = {
    publisher: deps.publisher,
    clock: deps.clock ?? { now: () => Date.now() },
    ids: deps.ids ?? { newId },
    orders: orderStatusReader(deps.documentClient, deps.config.ORDER_STATUS_TABLE),
    idempotency: powertoolsIdempotencyGuard(persistenceStore, idempotencyConfig),
  };
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context>({ timeoutEarlyInMillis: 0 })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .use(traceInvocations)
    .handler(async (event, context) => {
      // The in-progress record expires with the invocation, so a crashed attempt does not block retries for long.
      idempotencyConfig.registerLambdaContext(context);
      return handleRequest(event, ports, { remainingTimeMs: () => context.getRemainingTimeInMillis() });
    });
}

/** Reads order-status rows, projected on the attributes the API returns. */
export function orderStatusReader(client: DynamoDBDocumentClient, tableName: string): OrderReader {
  const names = Object.fromEntries(ORDER_VIEW_ATTRIBUTES.map((a) => [`#${a}`, a]));
  return {
    async get(orderId) {
      const { Item } = await client.send(
        new GetCommand({
          TableName: tableName,
          Key: { orderId },
          ProjectionExpression: Object.keys(names).join(', '),
          ExpressionAttributeNames: names,
        }),
      );
      return Item;
    },
  };
}

/**
 * An `IdempotencyGuard` over Powertools idempotency: the record key hashes (customerId, Idempotency-Key), the
 * validated body is the payload a retry must match, and Powertools' errors become the logic's.
 */
export function powertoolsIdempotencyGuard(
  persistenceStore: DynamoDBPersistenceLayer,
  config: IdempotencyConfig,
): IdempotencyGuard {
  const run = makeIdempotent(
    (_request: IdempotentRequest, place: () => Promise<PlacedOrder>): Promise<PlacedOrder> => place(),
    { persistenceStore, config, keyPrefix: IDEMPOTENCY_KEY_PREFIX, dataIndexArgument: 0 },
  );
  return {
    async once(request, place) {
      let placed: PlacedOrder | undefined;
      try {
        return await run(request, async () => {
          placed = await place();
          return placed;
        });
      } catch (error) {
        if (placed) {
          // Acknowledged by the broker but not recorded as completed: the order exists, so say so. A retry runs
          // again and re-publishes the same derived orderId and eventId, which consumers deduplicate.
          logger.warn('order placed but its idempotency record was not completed', {
            orderId: placed.orderId,
            error: error as Error,
          });
          return placed;
        }
        if (error instanceof IdempotencyValidationError) {
          throw new IdempotencyConflictError('Idempotency-Key reused with a different body', { cause: error });
        }
        if (error instanceof IdempotencyAlreadyInProgressError) {
          throw new RequestInProgressError('Idempotency-Key in progress', { cause: error });
        }
        if (error instanceof IdempotencyUnknownError) {
          throw new TransientError('idempotency store failed', { cause: error });
        }
        throw error;
      }
    },
  };
}

/** What `defaultDeps` builds: the deps, and the producer behind their publisher. */
export interface DefaultDeps extends OrderApiDeps {
  /** Lambda never disconnects it (a frozen environment keeps its connection); a process hosting the handler does. */
  readonly producer: RecordProducer;
}

/** Clients and config of the deployed function, created once per cold start. */
export function defaultDeps(env: NodeJS.ProcessEnv = process.env): DefaultDeps {
  const config = loadOrderApiConfig(env);
  const { producer, publisher } = kafkaRuntime(config, 'order-api', { requestTimeoutMs: PRODUCE_REQUEST_TIMEOUT_MS });
  const dynamoDbClient = new DynamoDBClient({ region: config.AWS_REGION });
  const documentClient = DynamoDBDocumentClient.from(dynamoDbClient, {
    marshallOptions: { removeUndefinedValues: true },
  });
  return { config, producer, publisher, documentClient, dynamoDbClient };
}

/** The Lambda entry; a missing variable fails the cold start with a `ConfigError` naming it. */
export const handler: OrderApiHandler = createHandler(defaultDeps());
