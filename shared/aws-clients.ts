/**
 * The one place functions create AWS SDK clients: the region from the function's config, and every call traced
 * with X-Ray when tracing is on (`traced` in shared/observability.ts). Created once per cold start by each
 * function's `defaultDeps`.
 */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SESClient } from '@aws-sdk/client-ses';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { traced } from './observability.js';

/**
 * How each SDK client retries (docs/retry-policy.md): `standard` mode (exponential backoff with full jitter, base
 * 100 ms, capped at 20 s, and a retry quota that stops retrying when most calls fail) and a few attempts, as the
 * event source's own retries (10, 37.5 s or more) ride out longer outages. A request that hangs is cut at
 * `requestTimeoutMs` (a socket left open by a killed service would otherwise hold the invocation to its timeout).
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
 */
export const SDK_RETRY_POLICY = {
  dynamodb: { retryMode: 'standard', maxAttempts: 3, connectionTimeoutMs: 2_000, requestTimeoutMs: 5_000 },
  eventbridge: { retryMode: 'standard', maxAttempts: 3, connectionTimeoutMs: 2_000, requestTimeoutMs: 5_000 },
  ses: { retryMode: 'standard', maxAttempts: 3, connectionTimeoutMs: 2_000, requestTimeoutMs: 5_000 },
  // A live update is pushed once per connection; a slow or gone connection must not hold up the others.
  'apigateway-management': {
    retryMode: 'standard',
    maxAttempts: 2,
    connectionTimeoutMs: 1_000,
    requestTimeoutMs: 3_000,
  },
} as const satisfies Record<string, SdkRetrySettings>;

/** One client's retry settings. */
export interface SdkRetrySettings {
  readonly retryMode: 'standard' | 'adaptive';
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  readonly connectionTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

/** The SDK client options of `settings`. */
export function sdkRetryOptions(settings: SdkRetrySettings) {
  return {
    retryMode: settings.retryMode,
    maxAttempts: settings.maxAttempts,
    requestHandler: { connectionTimeout: settings.connectionTimeoutMs, requestTimeout: settings.requestTimeoutMs },
  };
}

/** A DynamoDB client for `region`, traced. */
export function dynamoDbClientFor(region: string): DynamoDBClient {
  return traced(new DynamoDBClient({ region, ...sdkRetryOptions(SDK_RETRY_POLICY.dynamodb) }));
}

/**
 * A DynamoDB document client over `client` (a new traced one for `region` by default). Attributes that are
 * undefined are left out of the items written, as every store expects.
 *
 * @example
 * const store = dynamoPaymentStore(documentClientFor(config.AWS_REGION), config.PAYMENTS_TABLE);
 */
export function documentClientFor(
  region: string,
  client: DynamoDBClient = dynamoDbClientFor(region),
): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** An EventBridge client for `region`, traced. */
export function eventBridgeClientFor(region: string): EventBridgeClient {
  return traced(new EventBridgeClient({ region, ...sdkRetryOptions(SDK_RETRY_POLICY.eventbridge) }));
}

/** An SES client for `region`, traced. */
export function sesClientFor(region: string): SESClient {
  return traced(new SESClient({ region, ...sdkRetryOptions(SDK_RETRY_POLICY.ses) }));
}

/**
 * An API Gateway Management API client for the WebSocket API at `endpoint`, traced. The only client here given an
 * endpoint: every other service has one endpoint per region, which the SDK derives, while this API is served by
 * each WebSocket API at its own URL (`https://<api-id>.execute-api.<region>.amazonaws.com/<stage>`, or the local
 * dev server's `http://127.0.0.1:3000/_live`), the stage being part of the path.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html
 *
 * @example
 * const client = managementApiClientFor(config.AWS_REGION, config.LIVE_CALLBACK_URL);
 */
export function managementApiClientFor(region: string, endpoint: string): ApiGatewayManagementApiClient {
  return traced(
    new ApiGatewayManagementApiClient({
      region,
      endpoint,
      ...sdkRetryOptions(SDK_RETRY_POLICY['apigateway-management']),
    }),
  );
}
