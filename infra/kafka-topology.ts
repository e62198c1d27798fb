/**
 * What the stack derives from `shared/topology.ts` and the function contracts (`shared/functions.ts`): which
 * topics each function writes, the event-source mappings (one per consumer and topic, as Lambda takes a single
 * topic per mapping) and their consumer group ids.
 */
import { contractOf, usesKafka } from '../shared/functions.js';
import {
  CONSUMERS,
  type ConsumerSpec,
  FUNCTION_NAMES,
  type FunctionName,
  TOPICS,
  type TopicName,
  topicOf,
  topicSpec,
} from '../shared/topology.js';

/** The consumer spec of a function, or undefined when no topic feeds it. */
export function consumerSpecOf(fn: FunctionName): ConsumerSpec | undefined {
  return CONSUMERS.find((c) => c.function === fn);
}

/**
 * Topics a function writes: its events' topics, plus the dead-letter topic for consumers (the shared batch loop
 * dead-letters permanent failures itself, and the mapping's on-failure destination writes there too).
 */
export function producedTopics(fn: FunctionName): TopicName[] {
  const topics = new Set<TopicName>(contractOf(fn).produces.map((type) => topicOf(type)));
  const consumer = consumerSpecOf(fn);
  if (consumer) {
    topics.add(TOPICS.ORDERS_DLQ);
    topics.add(consumer.onFailureTopic);
  }
  return [...topics];
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
