/**
 * live-connections Lambda: the route handler of the live order-updates WebSocket API (`$connect`, `$disconnect`,
 * `subscribe`, `unsubscribe`, `$default`). Wiring only: config, clients, ports, `createHandler`.
 */
import { documentClientFor, managementApiClientFor } from '../../shared/aws-clients.js';
import { loadConfig } from '../../shared/config.js';
import { managementApiSender } from '../../shared/connection-sender.js';
import { dynamoLiveConnectionsStore } from '../../shared/live-connections-store.js';
import { createHandler, type LiveConnectionsDeps, liveConnectionsEnv } from './live-connections-handler.js';
import { orderStatusReader } from './order-status-reader.js';

/** Clients of the deployed function, created once per cold start; a missing variable throws `ConfigError`. */
export function defaultDeps(env: NodeJS.ProcessEnv = process.env): LiveConnectionsDeps {
  const config = loadConfig(liveConnectionsEnv, env);
  const documents = documentClientFor(config.AWS_REGION);
  return {
    connections: dynamoLiveConnectionsStore(documents, config.LIVE_CONNECTIONS_TABLE),
    orders: orderStatusReader(documents, config.ORDER_STATUS_TABLE),
    sender: managementApiSender(managementApiClientFor(config.AWS_REGION, config.LIVE_CALLBACK_URL)),
  };
}

/** Lambda entry point. */
export const handler = createHandler(defaultDeps());
