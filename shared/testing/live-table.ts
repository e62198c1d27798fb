/** The LIVE_CONNECTIONS table in unit tests: a `FakeTable` that seeds and reads subscriptions, and posted messages. */
import type { PostToConnectionCommandInput } from '@aws-sdk/client-apigatewaymanagementapi';
import { type ServerMessage, serverMessage } from '../live-protocol.js';
import { FakeTable, type Item } from './fake-table.js';

/**
 * LIVE_CONNECTIONS items by `pk`: `CONN#<connectionId>` with the connection's subscriptions, `SUB#<target>` with the
 * connections subscribed to an order id or `*`.
 *
 * @example
 * const live = new LiveTable();
 * live.seedSubscriptions('conn-a', [orderId, '*']);
 * expect(live.connectionsOf(orderId)).toEqual(new Set(['conn-a']));
 */
export class LiveTable extends FakeTable {
  constructor() {
    super('pk');
  }

  /** Seeds CONN# and SUB# items as if `connectionId` had subscribed to `targets`; `connection` adds to its CONN# item. */
  seedSubscriptions(connectionId: string, targets: readonly string[], connection: Item = {}): void {
    this.set(`CONN#${connectionId}`, { pk: `CONN#${connectionId}`, subscriptions: new Set(targets), ...connection });
    for (const target of targets) {
      const existing = this.connectionsOf(target) as Set<string> | undefined;
      this.set(`SUB#${target}`, { pk: `SUB#${target}`, connections: new Set([...(existing ?? []), connectionId]) });
    }
  }

  /** The connections subscribed to `target` (an order id or `*`). */
  connectionsOf(target: string): unknown {
    return this.get(`SUB#${target}`)?.connections;
  }

  /** The targets `connectionId` is subscribed to. */
  subscriptionsOf(connectionId: string): unknown {
    return this.get(`CONN#${connectionId}`)?.subscriptions;
  }
}

/** The message of a PostToConnection call, parsed against the live protocol. */
export function postedMessage(input: PostToConnectionCommandInput): ServerMessage {
  return serverMessage.parse(JSON.parse(Buffer.from(input.Data as Uint8Array).toString()));
}
