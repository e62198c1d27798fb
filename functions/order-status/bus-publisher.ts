/** The orderflow EventBridge bus behind a `BusPublisher`: final order transitions and status changes out. */
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { TransientError } from '../../shared/errors.js';
import { EVENT_SOURCE } from '../../shared/topology.js';
import type { BusPublisher } from './order-status.js';

/** The orderflow bus as a `BusPublisher`; an entry EventBridge did not accept fails the whole call. */
export function eventBridgePublisher(client: EventBridgeClient, eventBusName: string): BusPublisher {
  return {
    publish: async (entries) => {
      // PutEvents takes at most 10 entries; an order has at most one final transition and five status changes.
      for (let i = 0; i < entries.length; i += 10) {
        const chunk = entries.slice(i, i + 10);
        const result = await client.send(
          new PutEventsCommand({
            Entries: chunk.map(({ detailType, detail }) => ({
              EventBusName: eventBusName,
              Source: EVENT_SOURCE,
              DetailType: detailType,
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
