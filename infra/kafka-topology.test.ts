import { describe, expect, it } from '@jest/globals';
import { CONSUMERS, FUNCTION_NAMES, TOPICS } from '../shared/topology.js';
import { kafkaFunctions, kafkaMappings, mappingGroupId, producedTopics } from './kafka-topology.js';

describe('kafkaMappings', () => {
  it('makes one mapping per consumer topic, each with its own group derived from the topology group', () => {
    // Act
    const mappings = kafkaMappings();

    // Assess
    expect(mappings).toHaveLength(CONSUMERS.reduce((n, c) => n + c.topics.length, 0));
    expect(new Set(mappings.map((m) => m.groupId)).size).toBe(mappings.length);
    for (const m of mappings) expect(m.groupId).toBe(`${m.consumer.groupId}@${m.topic}`);
  });

  it('keeps group ids within lambda limits', () => {
    for (const m of kafkaMappings()) {
      expect(m.groupId).toMatch(/^[a-zA-Z0-9\-/*:_+=.@]{1,200}$/);
    }
  });

  it('does not rename a consumer group when its consumer gains a topic', () => {
    // Prepare
    const [consumer] = CONSUMERS;
    if (!consumer) throw new Error('no consumers');

    // Act
    const before = mappingGroupId(consumer, TOPICS.ORDERS_RAW);
    const after = kafkaMappings([{ ...consumer, topics: [TOPICS.ORDERS_RAW, TOPICS.PAYMENT_EVENTS] }])[0]?.groupId;

    // Assess
    expect(after).toBe(before);
  });
});

describe('producedTopics', () => {
  it('lists the topics of the events a function emits, plus the dead-letter topic for consumers', () => {
    expect(producedTopics('order-api')).toEqual([TOPICS.ORDERS_RAW]);
    expect(producedTopics('validate-order').sort()).toEqual([TOPICS.ORDERS_VALIDATED, TOPICS.ORDERS_DLQ].sort());
    expect(producedTopics('order-status')).toEqual([TOPICS.ORDERS_DLQ]);
    expect(producedTopics('send-order-email')).toEqual([]);
  });

  it('puts every function on kafka but the email and live-update ones, which neither consume nor produce', () => {
    const offKafka = ['send-order-email', 'live-connections', 'live-notifier'];
    expect(kafkaFunctions()).toEqual(FUNCTION_NAMES.filter((f) => !offKafka.includes(f)));
  });
});
