/**
 * The LIVE_CONNECTIONS table behind a `LiveConnectionsStore`, shared by live-connections (the WebSocket routes
 * write it) and live-notifier (reads it, and forgets connections API Gateway says are gone). Two items per
 * subscription, so both directions are one key away:
 * - `CONN#<connectionId>`: `subscriptions` (string set of orderIds and `*`), `connectedAt`, `expiresAt`;
 * - `SUB#<orderId|*>`: `connections` (string set of connection ids), `expiresAt`.
 *
 * Every change to a set is an atomic `ADD`/`DELETE` UpdateItem: two clients subscribing to the same order at once
 * both end up in its `SUB#` item, which a read-modify-write would not guarantee.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { settleAll } from './concurrency.js';
import { TransientError } from './errors.js';
import { MAX_SUBSCRIPTIONS_PER_CONNECTION } from './live-protocol.js';

/**
 * How long an item outlives its last write, in seconds: API Gateway closes a WebSocket connection after 2 hours
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html#apigateway-execution-service-websocket-limits-table),
 * so 2 h 10 min after the last write no connection it names can still be open. The TTL is the backstop for a
 * `$disconnect` that never ran (API Gateway delivers it on a best-effort basis).
 */
export const LIVE_ITEM_TTL_SECONDS = 2 * 60 * 60 + 10 * 60;

/** Most `SUB#` items a `disconnect` updates at once. */
const DISCONNECT_CONCURRENCY = 10;

/** How often `subscribersOf` asks again for keys DynamoDB left unprocessed before giving up. */
const UNPROCESSED_RETRIES = 3;

/** Partition key of a connection's item. */
export function connectionKey(connectionId: string): string {
  return `CONN#${connectionId}`;
}

/** Partition key of the item listing the connections subscribed to `target` (an orderId or `*`). */
export function subscriptionKey(target: string): string {
  return `SUB#${target}`;
}

/** The live subscriptions: which connection follows which orders, and who follows an order. */
export interface LiveConnectionsStore {
  /** Records a new connection, with no subscriptions. */
  connect(connectionId: string, now: number): Promise<void>;
  /**
   * Subscribes `connectionId` to `target` (an orderId or `*`). Resolves false, changing nothing, when the
   * connection already holds `MAX_SUBSCRIPTIONS_PER_CONNECTION` other subscriptions; subscribing again to a
   * target it holds succeeds.
   */
  subscribe(connectionId: string, target: string, now: number): Promise<boolean>;
  /** Removes the subscription of `connectionId` to `target`, if it had one. */
  unsubscribe(connectionId: string, target: string, now: number): Promise<void>;
  /**
   * The connections subscribed to any of `targets`, each with the targets it was found under. A key DynamoDB
   * keeps leaving unprocessed throws `TransientError`.
   */
  subscribersOf(targets: readonly string[]): Promise<Map<string, string[]>>;
  /**
   * Forgets `connectionId`: removes it from the `SUB#` item of every target its `CONN#` item lists, and of
   * `alsoFrom` (where the caller found it, in case its `CONN#` item is already gone), then deletes `CONN#`.
   * Resolves with the targets it was removed from.
   */
  disconnect(connectionId: string, now: number, alsoFrom?: readonly string[]): Promise<string[]>;
}

/** Epoch seconds at which an item written at `now` (epoch ms) expires. */
function expiresAt(now: number): number {
  return Math.floor(now / 1000) + LIVE_ITEM_TTL_SECONDS;
}

/**
 * The LIVE_CONNECTIONS table as a `LiveConnectionsStore`.
 *
 * @example
 * const connections = dynamoLiveConnectionsStore(documentClientFor(config.AWS_REGION), config.LIVE_CONNECTIONS_TABLE);
 * await connections.subscribe(connectionId, orderId, Date.now());
 */
export function dynamoLiveConnectionsStore(client: DynamoDBDocumentClient, tableName: string): LiveConnectionsStore {
  /** Adds (`ADD`) or removes (`DELETE`) `member` of the set `attribute` of item `pk`, and pushes its expiry back. */
  const changeSet = (pk: string, action: 'ADD' | 'DELETE', attribute: string, member: string, now: number) =>
    client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk },
        UpdateExpression: `${action} #set :member SET expiresAt = :expiresAt`,
        ExpressionAttributeNames: { '#set': attribute },
        ExpressionAttributeValues: { ':member': new Set([member]), ':expiresAt': expiresAt(now) },
      }),
    );

  return {
    async connect(connectionId, now) {
      await client.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            pk: connectionKey(connectionId),
            connectedAt: new Date(now).toISOString(),
            expiresAt: expiresAt(now),
          },
        }),
      );
    },

    async subscribe(connectionId, target, now) {
      try {
        // The limit is checked by DynamoDB in the same write, so concurrent subscribes cannot overshoot it.
        await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { pk: connectionKey(connectionId) },
            UpdateExpression: 'ADD subscriptions :target SET expiresAt = :expiresAt',
            ConditionExpression:
              'attribute_not_exists(subscriptions) OR size(subscriptions) < :max OR contains(subscriptions, :member)',
            ExpressionAttributeValues: {
              ':target': new Set([target]),
              ':member': target,
              ':max': MAX_SUBSCRIPTIONS_PER_CONNECTION,
              ':expiresAt': expiresAt(now),
            },
          }),
        );
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        throw error;
      }
      // Second, so a connection over its limit never appears under SUB#; a failure here leaves the CONN# side
      // alone, which the client's retry (or the disconnect) completes.
      await changeSet(subscriptionKey(target), 'ADD', 'connections', connectionId, now);
      return true;
    },

    async unsubscribe(connectionId, target, now) {
      // SUB# first: once it is gone the notifier stops posting, whatever happens to the second write.
      await changeSet(subscriptionKey(target), 'DELETE', 'connections', connectionId, now);
      await changeSet(connectionKey(connectionId), 'DELETE', 'subscriptions', target, now);
    },

    async subscribersOf(targets) {
      const found = new Map<string, string[]>();
      let keys = [...new Set(targets)].map((target) => ({ pk: subscriptionKey(target) }));
      for (let attempt = 0; keys.length > 0; attempt++) {
        if (attempt > UNPROCESSED_RETRIES) {
          throw new TransientError(`DynamoDB left ${keys.map((k) => k.pk).join(', ')} unprocessed; retry the event`);
        }
        // Consistent: a client that was just told `subscribed` gets the next change.
        const result = await client.send(
          new BatchGetCommand({ RequestItems: { [tableName]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of result.Responses?.[tableName] ?? []) {
          const target = String(item.pk).slice('SUB#'.length);
          for (const connectionId of (item.connections as Set<string> | undefined) ?? []) {
            found.set(connectionId, [...(found.get(connectionId) ?? []), target]);
          }
        }
        // https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html: ask again for
        // what DynamoDB did not read (throttling, response size), as the SDK does not.
        keys = (result.UnprocessedKeys?.[tableName]?.Keys ?? []) as { pk: string }[];
      }
      return found;
    },

    async disconnect(connectionId, now, alsoFrom = []) {
      const { Item } = await client.send(
        new GetCommand({ TableName: tableName, Key: { pk: connectionKey(connectionId) }, ConsistentRead: true }),
      );
      const subscriptions = (Item?.subscriptions as Set<string> | undefined) ?? [];
      const targets = [...new Set([...subscriptions, ...alsoFrom])];
      const outcomes = await settleAll(targets, DISCONNECT_CONCURRENCY, (target) =>
        changeSet(subscriptionKey(target), 'DELETE', 'connections', connectionId, now),
      );
      const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (failed) throw failed.reason;
      // Last, so a disconnect that failed half-way still knows, when run again, where the connection was.
      await client.send(new DeleteCommand({ TableName: tableName, Key: { pk: connectionKey(connectionId) } }));
      return targets;
    },
  };
}
