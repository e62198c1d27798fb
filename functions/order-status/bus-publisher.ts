/** The orderflow EventBridge bus behind a `BusPublisher`: final order transitions and status changes out. */
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE } from '../../shared/topology.js';
import type { BusPublisher, PublishFailure } from './order-status.js';

/** PutEvents takes at most 10 entries (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html). */
const PUT_EVENTS_LIMIT = 10;

/**
 * The orderflow bus as a `BusPublisher`: the entries of a whole batch, 10 per PutEvents. An entry EventBridge
 * rejected (`FailedEntryCount`; `Entries` answers position by position) is a failure of that entry alone; a call
 * that fails fails its entries and every later one, which are not sent (the bus is away: the records retry).
 */
export function eventBridgePublisher(client: EventBridgeClient, eventBusName: string): BusPublisher {
  return {
    publish: async (entries) => {
      const failures: PublishFailure[] = [];
      for (let i = 0; i < entries.length; i += PUT_EVENTS_LIMIT) {
        const chunk = entries.slice(i, i + PUT_EVENTS_LIMIT);
        try {
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
          if ((result.FailedEntryCount ?? 0) === 0) continue;
          for (const [index, entry] of chunk.entries()) {
            const answer = result.Entries?.[index];
            // An answer without an EventId is not accepted, whatever it says (or a short Entries list).
            if (answer?.EventId && !answer.ErrorCode) continue;
            failures.push({
              entry,
              reason: `${answer?.ErrorCode ?? 'NoAnswer'}: ${answer?.ErrorMessage ?? ''}`.trim(),
            });
          }
        } catch (error) {
          const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
          for (const entry of entries.slice(i)) failures.push({ entry, reason });
          break;
        }
      }
      return failures;
    },
  };
}
