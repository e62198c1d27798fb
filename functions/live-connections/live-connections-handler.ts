/**
 * live-connections over its ports: the env schema and the `createHandler` the Lambda entry (`handler.ts`) and the
 * tests build on. No module-scope side effects.
 */

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyStructuredResultV2, APIGatewayProxyWebsocketEventV2, Context } from 'aws-lambda';
import type { ConnectionSender } from '../../shared/connection-sender.js';
import { envSchemaOf } from '../../shared/functions.js';
import type { LiveConnectionsStore } from '../../shared/live-connections-store.js';
import { logger, metrics, traceInvocations } from '../../shared/observability.js';
import { type CurrentStatusReader, handleLiveRequest } from './live-connections.js';

/** Environment of live-connections: its two tables and where replies are posted. */
export const liveConnectionsEnv = envSchemaOf('live-connections');

/** What `createHandler` needs. */
export interface LiveConnectionsDeps {
  readonly connections: LiveConnectionsStore;
  readonly orders: CurrentStatusReader;
  readonly sender: ConnectionSender;
  /** @default - wall clock */
  readonly clock?: () => number;
}

/** The text of a frame: API Gateway base64-encodes binary frames. */
function bodyOf(event: APIGatewayProxyWebsocketEventV2): string | undefined {
  if (event.body === undefined || !event.isBase64Encoded) return event.body;
  return Buffer.from(event.body, 'base64').toString('utf8');
}

/**
 * The live-connections handler over `deps`: one invocation per `$connect`, `$disconnect` and client message.
 * Always answers 200 for what a client sent; a failing dependency throws, and API Gateway answers the client
 * with an internal-error frame (or refuses the `$connect`).
 */
export function createHandler(deps: LiveConnectionsDeps) {
  const ports = { ...deps, clock: deps.clock ?? Date.now };
  return middy<APIGatewayProxyWebsocketEventV2, APIGatewayProxyStructuredResultV2, Error, Context>({
    timeoutEarlyInMillis: 0,
  })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .use(traceInvocations)
    .handler(async (event) => {
      const { routeKey, connectionId, requestId } = event.requestContext;
      logger.appendKeys({ connectionId, routeKey, requestId });
      metrics.addMetric('LiveRequests', MetricUnit.Count, 1);
      // Only the action and order of a message are logged, never the frame: it is whatever a client typed.
      const outcome = await handleLiveRequest({ routeKey, connectionId, body: bodyOf(event) }, ports);
      if (outcome.refused) {
        metrics.addMetric('LiveMessagesRefused', MetricUnit.Count, 1);
        logger.warn('live message refused', { ...outcome });
      } else {
        logger.info('live request handled', { ...outcome });
      }
      return { statusCode: 200 };
    });
}
