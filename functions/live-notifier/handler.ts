/**
 * live-notifier Lambda: target of the rule matching OrderStatusChanged. Pushes each transition to the WebSocket
 * clients following the order. Wiring only: config, clients, ports, `createHandler`.
 */
import { documentClientFor, managementApiClientFor } from '../../shared/aws-clients.js';
import { loadConfig } from '../../shared/config.js';
import { managementApiSender } from '../../shared/connection-sender.js';
import { dynamoLiveConnectionsStore } from '../../shared/live-connections-store.js';
import { createHandler, type LiveNotifierDeps, liveNotifierEnv } from './live-notifier-handler.js';

/** Clients of the deployed function, created once per cold start; a missing variable throws `ConfigError`. */
export function defaultDeps(env: NodeJS.ProcessEnv = process.env): LiveNotifierDeps {
  const config = loadConfig(liveNotifierEnv, env);
  return {
    connections: dynamoLiveConnectionsStore(documentClientFor(config.AWS_REGION), config.LIVE_CONNECTIONS_TABLE),
    sender: managementApiSender(managementApiClientFor(config.AWS_REGION, config.LIVE_CALLBACK_URL)),
  };
}

/** Lambda entry point. */
export const handler = createHandler(defaultDeps());
