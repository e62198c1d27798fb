/**
 * Recordings made with `npm run record` from the local broker (here: orders produced by `npm run simulate`)
 * decode offline against events/registry.json and go through validate-order like the generated fixtures.
 */
import { describe, expect, it } from '@jest/globals';
import { validateOrder } from '../../functions/validate-order/validate-order.js';
import { eventPublisher } from '../../shared/kafka.js';
import { handleKafkaBatch } from '../../shared/lambda.js';
import { type MskEvent, recordsOf } from '../../shared/msk.js';
import { loadEvent, MemoryKafka, recordedCodec } from '../../shared/testing/fixtures.js';
import { TOPICS } from '../../shared/topology.js';

describe('recorded orders.raw batch', () => {
  it('decodes every recorded record offline and validates each order once', async () => {
    // Prepare
    const event = loadEvent<MskEvent>('recorded/orders-raw.json');
    const codec = recordedCodec();
    const kafka = new MemoryKafka();
    const ports = {
      catalog: {
        pricesFor: async (skus: readonly string[]) => new Map(skus.map((sku) => [sku, 1_000])),
        isBlocked: async () => false,
      },
      publisher: eventPublisher(codec, kafka.producer),
      clock: () => 1_763_700_000_000,
    };

    // Act
    const response = await handleKafkaBatch(event, {
      consumer: 'validate-order',
      codec,
      deadLetters: kafka.deadLetterSink,
      handle: async (e) => {
        await validateOrder(e, ports);
      },
    });

    // Assess
    const records = recordsOf(event);
    const produced = await kafka.eventsOn(codec, TOPICS.ORDERS_VALIDATED);
    expect(records.length).toBeGreaterThan(0);
    expect(event.eventSource).toBe('aws:kafka');
    expect(response).toEqual({ batchItemFailures: [] });
    expect(kafka.deadLetters).toEqual([]);
    expect(produced.map((e) => e.type)).toEqual(records.map(() => 'OrderValidated'));
    expect(produced.map((e) => e.orderId)).toEqual(records.map((r) => r.key?.toString()));
  });
});
