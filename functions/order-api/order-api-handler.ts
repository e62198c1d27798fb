/**
 * The order API (HTTP API, payload format 2.0) over its deps: the env schema and the `createHandler` the Lambda
 * entry (`handler.ts`), the local dev server and the tests build on. The one place the order API is handed the
 * shared logger and metrics. No module-scope side effects.
 */
import { IdempotencyConfig } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { envSchemaOf } from '../../shared/functions.js';
import { newId } from '../../shared/ids.js';
import type { EventPublisher } from '../../shared/kafka.js';
import { logger, metrics, traceInvocations } from '../../shared/observability.js';
import type * as z from '../../shared/zod.js';
import { powertoolsIdempotencyGuard } from './idempotency-guard.js';
import type { Clock, IdSource } from './order-api.js';
import { orderApi } from './order-api-routes.js';
import { orderStatusReader } from './order-status-reader.js';

/** Environment of order-api, from its contract: the Kafka variables plus its two tables. */
export const orderApiEnv = envSchemaOf('order-api');

/** Parsed order-api configuration. */
export type OrderApiConfig = z.infer<typeof orderApiEnv>;

/** How long a completed `Idempotency-Key` replays its first answer; after that the derived orderId still holds. */
const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;

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
 * Builds the middy handler over `deps`. Idempotency config and the router are created here, once: Powertools
 * configures a persistence layer only on first use, and routes are registered once per cold start.
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
  const api = orderApi({
    publisher: deps.publisher,
    clock: deps.clock ?? { now: () => Date.now() },
    ids: deps.ids ?? { newId },
    orders: orderStatusReader(deps.documentClient, deps.config.ORDER_STATUS_TABLE),
    idempotency: powertoolsIdempotencyGuard(persistenceStore, idempotencyConfig, logger),
    log: logger,
    metrics,
  });
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context>({ timeoutEarlyInMillis: 0 })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .use(traceInvocations)
    .handler(async (event, context) => {
      // The in-progress record expires with the invocation, so a crashed attempt does not block retries for long.
      idempotencyConfig.registerLambdaContext(context);
      return api(event, context);
    });
}
