/**
 * Pushing messages to WebSocket clients: the `ConnectionSender` port, and the API Gateway Management API behind
 * it (`PostToConnection`), shared by live-connections (replies) and live-notifier (status changes).
 */
import {
  type ApiGatewayManagementApiClient,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { ServerMessage } from './live-protocol.js';

/** What became of one message: posted, or the connection no longer exists. */
export type SendOutcome = 'sent' | 'gone';

/** Sends protocol messages to one connection. */
export interface ConnectionSender {
  /**
   * Posts `message` to `connectionId`. Resolves `'gone'` when the connection is closed (the caller forgets it);
   * any other failure rejects, after the client's own retries.
   */
  send(connectionId: string, message: ServerMessage): Promise<SendOutcome>;
}

/** Whether `error` says the connection is closed: `GoneException`, HTTP 410. */
export function isGone(error: unknown): boolean {
  if (error instanceof GoneException) return true;
  const metadata = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  return metadata?.httpStatusCode === 410;
}

/**
 * The Management API as a `ConnectionSender`; `client` must point at the WebSocket API's own endpoint
 * (`managementApiClientFor` in shared/aws-clients.ts). Throttling (`LimitExceededException`, 429) and 5xx are
 * retried by the SDK's standard retry strategy before `send` rejects.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html
 *
 * @example
 * const sender = managementApiSender(managementApiClientFor(config.AWS_REGION, config.LIVE_CALLBACK_URL));
 * await sender.send(connectionId, { type: 'subscribed', orderId });
 */
export function managementApiSender(client: ApiGatewayManagementApiClient): ConnectionSender {
  return {
    async send(connectionId, message) {
      try {
        await client.send(
          new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(JSON.stringify(message)) }),
        );
        return 'sent';
      } catch (error) {
        if (isGone(error)) return 'gone';
        throw error;
      }
    },
  };
}
