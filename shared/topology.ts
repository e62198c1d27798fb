/**
 * The one place where orderflow names its Kafka topics, consumer groups and EventBridge rules.
 *
 * The CDK stack (`infra/`), the local event-source runner (`local/`), provisioning and the functions all read
 * this module; no other file spells a topic name. Changing a consumer group id makes the consumer start over
 * from its starting position, so treat ids here as an external contract.
 */

/** Every Avro event type that travels on an orderflow topic. */
export const EVENT_TYPES = [
  'OrderPlaced',
  'OrderValidated',
  'OrderRejected',
  'InventoryReserved',
  'InventoryRejected',
  'InventoryReleased',
  'PaymentProcessed',
  'PaymentFailed',
  'PaymentRefunded',
] as const;

/** Name of an Avro event type carried on a topic (also the `event-type` header value). */
export type EventType = (typeof EVENT_TYPES)[number];

/** Avro namespace shared by every event schema in `schemas/`. */
export const SCHEMA_NAMESPACE = 'com.orderflow.events';

/** Logical names of the topics; use these keys in code, never the Kafka names. */
export const TOPICS = {
  ORDERS_RAW: 'orders.raw',
  ORDERS_VALIDATED: 'orders.validated',
  INVENTORY_EVENTS: 'inventory.events',
  PAYMENT_EVENTS: 'payment.events',
  ORDERS_DLQ: 'orders.dlq',
} as const;

/** A Kafka topic name used by orderflow. */
export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

/** How one topic is created, and which event types its value schema (`<topic>-value`) carries. */
export interface TopicSpec {
  /** Kafka topic name. */
  readonly name: TopicName;
  /** Partition count; orders are keyed by orderId so an order's events stay in one partition. */
  readonly partitions: number;
  /** `retention.ms`; MSK Serverless caps retention, see the README. */
  readonly retentionMs: number;
  /** Event types in the topic's value schema, in union order. Empty for the dead-letter topic (raw bytes). */
  readonly events: readonly EventType[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Every topic, with its partitions, retention and events. */
export const TOPIC_SPECS: readonly TopicSpec[] = [
  { name: TOPICS.ORDERS_RAW, partitions: 6, retentionMs: 7 * DAY_MS, events: ['OrderPlaced'] },
  {
    name: TOPICS.ORDERS_VALIDATED,
    partitions: 6,
    retentionMs: 7 * DAY_MS,
    events: ['OrderValidated', 'OrderRejected'],
  },
  {
    name: TOPICS.INVENTORY_EVENTS,
    partitions: 6,
    retentionMs: 7 * DAY_MS,
    events: ['InventoryReserved', 'InventoryRejected', 'InventoryReleased'],
  },
  {
    name: TOPICS.PAYMENT_EVENTS,
    partitions: 6,
    retentionMs: 7 * DAY_MS,
    events: ['PaymentProcessed', 'PaymentFailed', 'PaymentRefunded'],
  },
  { name: TOPICS.ORDERS_DLQ, partitions: 3, retentionMs: 14 * DAY_MS, events: [] },
];

/** Names of the functions in `functions/`; a function's folder name and construct id. */
export const FUNCTION_NAMES = [
  'order-api',
  'validate-order',
  'reserve-inventory',
  'process-payment',
  'order-status',
  'order-analytics',
  'send-order-email',
  'live-connections',
  'live-notifier',
] as const;

/** A function's folder name under `functions/`. */
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/** Where a consumer starts when its group has no committed offset. */
export type StartingPosition = 'TRIM_HORIZON' | 'LATEST';

/**
 * A Kafka event-source mapping: which topics feed which function, and what happens on error.
 * The error settings map one to one onto the ESM's provisioned-mode controls
 * (https://docs.aws.amazon.com/lambda/latest/dg/kafka-retry-configurations.html).
 */
export interface ConsumerSpec {
  /** Function invoked with the batches. */
  readonly function: FunctionName;
  /** Topics it reads. */
  readonly topics: readonly TopicName[];
  /** Kafka consumer group id; changing it replays from `startingPosition`. */
  readonly groupId: string;
  /** Maximum records per invocation (Lambda also caps the payload at 6 MB). */
  readonly batchSize: number;
  /** Maximum time to gather a batch, in seconds (`MaximumBatchingWindowInSeconds`). */
  readonly batchingWindowSeconds: number;
  /** Starting position for a new group. */
  readonly startingPosition: StartingPosition;
  /** Retries after the first attempt before the records go to the on-failure destination. */
  readonly retryAttempts: number;
  /** Split a failing batch in two and retry each half. */
  readonly bisectOnError: boolean;
  /** The function returns `batchItemFailures` (ReportBatchItemFailures). */
  readonly reportBatchItemFailures: boolean;
  /** Records older than this go to the on-failure destination, in seconds; -1 for no limit. */
  readonly maxRecordAgeSeconds: number;
  /** Where records go once retries are spent. */
  readonly onFailureTopic: TopicName;
}

const CONSUMER_DEFAULTS = {
  batchSize: 100,
  batchingWindowSeconds: 1,
  startingPosition: 'TRIM_HORIZON',
  // docs/retry-policy.md: 10 is what Lambda applies anyway to infinite retries with an on-failure destination, and
  // 10 retries with the local backoff wait at least 37.5 s, more than the 30 s outage the loop must ride through.
  retryAttempts: 10,
  bisectOnError: true,
  reportBatchItemFailures: true,
  maxRecordAgeSeconds: 6 * 60 * 60,
  onFailureTopic: TOPICS.ORDERS_DLQ,
} as const satisfies Partial<ConsumerSpec>;

/** Every Kafka consumer: one event-source mapping each in AWS, one local consumer each offline. */
export const CONSUMERS: readonly ConsumerSpec[] = [
  {
    ...CONSUMER_DEFAULTS,
    function: 'validate-order',
    topics: [TOPICS.ORDERS_RAW],
    groupId: 'orderflow.validate-order',
  },
  {
    ...CONSUMER_DEFAULTS,
    function: 'reserve-inventory',
    topics: [TOPICS.ORDERS_VALIDATED, TOPICS.PAYMENT_EVENTS],
    groupId: 'orderflow.reserve-inventory',
  },
  {
    ...CONSUMER_DEFAULTS,
    function: 'process-payment',
    topics: [TOPICS.ORDERS_VALIDATED, TOPICS.INVENTORY_EVENTS],
    groupId: 'orderflow.process-payment',
    // Payments call an external gateway: smaller batches bound the work redone after a transient failure.
    batchSize: 25,
  },
  {
    ...CONSUMER_DEFAULTS,
    function: 'order-status',
    topics: [TOPICS.ORDERS_RAW, TOPICS.ORDERS_VALIDATED, TOPICS.INVENTORY_EVENTS, TOPICS.PAYMENT_EVENTS],
    groupId: 'orderflow.order-status',
  },
  {
    ...CONSUMER_DEFAULTS,
    function: 'order-analytics',
    topics: [TOPICS.ORDERS_VALIDATED],
    groupId: 'orderflow.order-analytics',
    batchSize: 500,
    batchingWindowSeconds: 5,
  },
];

/** Name of the EventBridge bus the order lifecycle fans out on. */
export const EVENT_BUS_NAME = 'orderflow';

/** `source` of every event orderflow puts on the bus. */
export const EVENT_SOURCE = 'orderflow.orders';

/** Detail types published on the bus when an order reaches a final status (once per order). */
export const FINAL_BUS_DETAIL_TYPES = ['OrderConfirmed', 'OrderCancelled', 'OrderRejected'] as const;

/** Published for every status transition, final or not (PLACED, VALIDATED, CONFIRMED, CANCELLED, REJECTED). */
export const STATUS_CHANGED_DETAIL_TYPE = 'OrderStatusChanged';

/** Every detail type on the orderflow bus. */
export const BUS_DETAIL_TYPES = [...FINAL_BUS_DETAIL_TYPES, STATUS_CHANGED_DETAIL_TYPE] as const;

/** A detail type on the orderflow bus. */
export type BusDetailType = (typeof BUS_DETAIL_TYPES)[number];

/** A detail type announcing a final status. */
export type FinalBusDetailType = (typeof FINAL_BUS_DETAIL_TYPES)[number];

/** An EventBridge rule on the orderflow bus and the function it invokes. */
export interface RuleSpec {
  /** Rule name (and construct id). */
  readonly name: string;
  /** Detail types the rule matches (source is always `EVENT_SOURCE`). */
  readonly detailTypes: readonly BusDetailType[];
  /** Function the rule targets. */
  readonly target: FunctionName;
  /** Delivery retries before the event goes to the rule's dead-letter queue. */
  readonly maxRetries: number;
  /** Maximum age of an event EventBridge still tries to deliver, in seconds. */
  readonly maxEventAgeSeconds: number;
}

/** Every EventBridge rule. */
export const RULES: readonly RuleSpec[] = [
  {
    name: 'order-emails',
    detailTypes: ['OrderConfirmed', 'OrderCancelled', 'OrderRejected'],
    target: 'send-order-email',
    maxRetries: 8,
    maxEventAgeSeconds: 2 * 60 * 60,
  },
  {
    // A late live update is of little use: a client that subscribes reads the order's current status first.
    name: 'order-live-updates',
    detailTypes: [STATUS_CHANGED_DETAIL_TYPE],
    target: 'live-notifier',
    maxRetries: 3,
    maxEventAgeSeconds: 5 * 60,
  },
];

/**
 * The topic spec for a topic name.
 *
 * @example
 * topicSpec(TOPICS.ORDERS_VALIDATED).events // ['OrderValidated', 'OrderRejected']
 */
export function topicSpec(name: TopicName): TopicSpec {
  const spec = TOPIC_SPECS.find((t) => t.name === name);
  if (!spec) throw new Error(`unknown topic: ${name}`);
  return spec;
}

/** The topic an event type is produced to. */
export function topicOf(eventType: EventType): TopicName {
  const spec = TOPIC_SPECS.find((t) => t.events.includes(eventType));
  if (!spec) throw new Error(`event type ${eventType} is on no topic`);
  return spec.name;
}

/** The consumer spec of a Kafka-fed function. */
export function consumerOf(fn: FunctionName): ConsumerSpec {
  const spec = CONSUMERS.find((c) => c.function === fn);
  if (!spec) throw new Error(`function ${fn} consumes no topic`);
  return spec;
}

/** Schema registry subject of a topic's record values (TopicNameStrategy). */
export function valueSubject(topic: TopicName): string {
  return `${topic}-value`;
}
