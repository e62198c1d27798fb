/** Assertions that the handler tests of several Kafka-fed functions make alike. */
import { expect } from '@jest/globals';
import type { KafkaBatchResponse } from '../msk.js';
import type { MemoryKafka } from './fixtures.js';

/**
 * Asserts what a function's `poison.json` fixture (two undecodable records at offsets 60 and 61 before a good one)
 * must lead to: no record failed, both bad records dead-lettered as `DESERIALIZATION_ERROR`, tagged with `consumer`.
 *
 * @example
 * const response = await handler(fixture('poison'), context);
 * expectPoisonDeadLettered(response, kafka, 'process-payment');
 */
export function expectPoisonDeadLettered(response: KafkaBatchResponse, kafka: MemoryKafka, consumer: string): void {
  expect(response).toEqual({ batchItemFailures: [] });
  expect(kafka.deadLetterReasons()).toEqual([
    ['DESERIALIZATION_ERROR', '60'],
    ['DESERIALIZATION_ERROR', '61'],
  ]);
  expect(kafka.deadLetters[0]?.headers['dlq-consumer']).toBe(consumer);
}
