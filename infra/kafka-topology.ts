/**
 * What the stack derives from `shared/topology.ts`: which topics each function writes, the event-source mappings
 * (one per consumer and topic, as Lambda takes a single topic per mapping) and their consumer group ids.
 */
import {
  CONSUMERS,
  type ConsumerSpec,
  type EventType,
  FUNCTION_NAMES,
  type FunctionName,
  TOPICS,
  type TopicName,
  topicOf,
  topicSpec,
} from '../shared/topology.js';

/**
 * Event types each function produces to Kafka. The topology names consumers but not producers; this map is the
 * stack's half of that contract (a candidate for `shared/topology.ts`).
 */
export const PRODUCED_EVENTS: Readonly<Record<FunctionName, readonly EventType[]>> = {
  'order-api': ['OrderPlaced'],
  'validate-order': ['OrderValidated', 'OrderRejected'],
  'reserve-inventory': ['InventoryReserved', 'InventoryRejected', 'InventoryReleased'],
  'process-payment': ['PaymentProcessed', 'PaymentFailed', 'PaymentRefunded'],
  'order-status': [],
  'order-analytics': [],
  'send-order-email': [],
};

/** The consumer spec of a function, or undefined when no topic feeds it. */
export function consumerSpecOf(fn: FunctionName): ConsumerSpec | undefined {
  return CONSUMERS.find((c) => c.function === fn);
}

/**
 * Topics a function writes: its events' topics, plus the dead-letter topic for consumers (the shared batch loop
 * dead-letters permanent failures itself, and the mapping's on-failure destination writes there too).
 */
export function producedTopics(fn: FunctionName): TopicName[] {
  const topics = new Set<TopicName>(PRODUCED_EVENTS[fn].map((type) => topicOf(type)));
  const consumer = consumerSpecOf(fn);
  if (consumer) {
    topics.add(TOPICS.ORDERS_DLQ);
    topics.add(consumer.onFailureTopic);
  }
  return [...topics];
}

/** Whether a function talks to Kafka at all (and so runs in the VPC). */
export function usesKafka(fn: FunctionName): boolean {
  return producedTopics(fn).length > 0 || consumerSpecOf(fn) !== undefined;
}

/** Functions that talk to Kafka, in topology order. */
export function kafkaFunctions(): FunctionName[] {
  return FUNCTION_NAMES.filter(usesKafka);
}

/** One Lambda event-source mapping: a consumer reading one topic. */
export interface KafkaMapping {
  readonly consumer: ConsumerSpec;
  readonly topic: TopicName;
  /** Consumer group of this mapping; Lambda requires a distinct group id per mapping. */
  readonly groupId: string;
  /** Partitions of the topic: the most pollers that can be busy. */
  readonly partitions: number;
}

/**
 * Consumer group id of one mapping: `<topology group id>@<topic>`. Lambda wants a group id unique across mappings
 * and a mapping reads one topic, so a multi-topic consumer becomes one group per topic. The suffix is always
 * present, so adding a topic to a consumer never renames (and replays) its existing groups.
 */
export function mappingGroupId(consumer: ConsumerSpec, topic: TopicName): string {
  return `${consumer.groupId}@${topic}`;
}

/** Every event-source mapping the topology implies. */
export function kafkaMappings(consumers: readonly ConsumerSpec[] = CONSUMERS): KafkaMapping[] {
  return consumers.flatMap((consumer) =>
    consumer.topics.map((topic) => ({
      consumer,
      topic,
      groupId: mappingGroupId(consumer, topic),
      partitions: topicSpec(topic).partitions,
    })),
  );
}
