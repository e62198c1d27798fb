/**
 * What the dashboard shows, read from the local stack: consumer lag (kafkajs admin), the dead-letter topic's depth
 * and latest letters. Every read is bounded: a timeout on each admin call, a fixed number of letters kept.
 */

import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Admin, Kafka } from 'kafkajs';
import { CURRENCIES, type Currency } from '../../../shared/events.js';
import { parseDeadLetter } from '../../../shared/msk.js';
import { maskEmail } from '../../../shared/observability.js';
import { CONSUMERS, type FunctionName, TOPICS } from '../../../shared/topology.js';
import type { AwsCallCounts } from '../../esm/aws-calls.js';
import { deadLetterMessageOf, type RedriveResult, redriveDeadLetters } from '../../tools/dlq-redrive.js';
import { deadLetterEntries } from '../../tools/tail.js';
import type { AdmissionStats } from '../admission.js';
import { readAnalytics } from '../status.js';

/** How long the dashboard waits for a Kafka admin answer. */
export const ADMIN_TIMEOUT_MS = 3_000;

/** Lag of one consumer group on one partition. */
export interface PartitionLag {
  readonly consumer: string;
  readonly groupId: string;
  readonly topic: string;
  readonly partition: number;
  /** Next offset the group will read; `null` before its first commit. */
  readonly committed: number | null;
  /** The partition's high watermark. */
  readonly high: number;
  /** Records between the committed offset (or the start of the partition) and the high watermark. */
  readonly lag: number;
}

/** A dead letter as the dashboard lists it: nothing in it unmasked or unbounded. */
export interface DeadLetterView {
  readonly where: string;
  readonly kind: 'handler' | 'event-source' | 'unknown';
  readonly reason: string;
  /** The function that gave up; empty for an unknown letter. */
  readonly consumer: string;
  /** The source record, `<topic>-<partition>@<offset>`. */
  readonly source: string;
  readonly failedAt: string;
  readonly detail: string;
}

/** Rejects after `ms`, naming what did not answer. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sums the records waiting in the dead-letter topic. */
export async function dlqDepth(admin: Admin, timeoutMs = ADMIN_TIMEOUT_MS): Promise<number> {
  const offsets = await withTimeout(admin.fetchTopicOffsets(TOPICS.ORDERS_DLQ), timeoutMs, 'dead-letter offsets');
  return offsets.reduce((sum, p) => sum + (Number(p.high) - Number(p.low)), 0);
}

/**
 * Committed offsets against high watermarks for every consumer group and partition of `CONSUMERS`: one offsets
 * read per topic and one per group.
 */
export async function consumerLag(admin: Admin, timeoutMs = ADMIN_TIMEOUT_MS): Promise<PartitionLag[]> {
  const topics = [...new Set(CONSUMERS.flatMap((c) => c.topics))];
  const ends = new Map(
    await Promise.all(
      topics.map(
        async (topic) =>
          [topic, await withTimeout(admin.fetchTopicOffsets(topic), timeoutMs, `offsets of ${topic}`)] as const,
      ),
    ),
  );
  const perGroup = await Promise.all(
    CONSUMERS.map(async (spec) => {
      const committed = await withTimeout(
        admin.fetchOffsets({ groupId: spec.groupId, topics: [...spec.topics] }),
        timeoutMs,
        `offsets of ${spec.groupId}`,
      );
      return spec.topics.flatMap((topic) =>
        (ends.get(topic) ?? []).map((end): PartitionLag => {
          const offset = Number(
            committed.find((t) => t.topic === topic)?.partitions.find((p) => p.partition === end.partition)?.offset ??
              -1,
          );
          const high = Number(end.high);
          const from = offset >= 0 ? offset : Number(end.low);
          return {
            consumer: spec.function,
            groupId: spec.groupId,
            topic,
            partition: end.partition,
            committed: offset >= 0 ? offset : null,
            high,
            lag: Math.max(0, high - from),
          };
        }),
      );
    }),
  );
  return perGroup.flat();
}

/** Masks every email in free text (`j***@example.com`), as logs do. */
export function maskEmailsIn(text: string): string {
  return text.replace(/[^\s@"'<>(),;:]+@[^\s@"'<>(),;:]+\.[^\s@"'<>(),;:]+/g, (email) => maskEmail(email));
}

/** Longest detail shown for a letter; an error message with a stack trace is cut. */
const MAX_DETAIL_CHARS = 300;

/** The views of a record of the dead-letter topic. */
export function deadLetterViews(
  where: string,
  message: { key: Buffer | null; value: Buffer | null; headers?: Record<string, unknown> },
): DeadLetterView[] {
  return deadLetterEntries(where, parseDeadLetter(deadLetterMessageOf(message))).map((entry) =>
    entry.kind === 'unknown'
      ? { where, kind: 'unknown', reason: 'UNKNOWN', consumer: '', source: '', failedAt: '', detail: entry.problem }
      : {
          where,
          kind: entry.kind,
          reason: entry.reason,
          consumer: entry.functionName,
          source: entry.source,
          failedAt: entry.failedAt,
          detail: maskEmailsIn(entry.detail).slice(0, MAX_DETAIL_CHARS),
        },
  );
}

/** The latest dead letters, kept as they arrive. */
export interface DeadLetterFollower {
  /** The latest letters, newest first. */
  latest(): DeadLetterView[];
  stop(): Promise<void>;
}

/**
 * Follows the dead-letter topic from its last `keep` records per partition on, keeping the `keep` latest letters:
 * memory does not grow with the topic. Its consumer group is its own (`orderflow-dashboard-<pid>-<time>`) and
 * never commits.
 *
 * @example
 * const follower = await followDeadLetters(kafka, { keep: 20 });
 */
export async function followDeadLetters(
  kafka: Kafka,
  options: { readonly keep?: number; readonly log?: (message: string) => void } = {},
): Promise<DeadLetterFollower> {
  const keep = options.keep ?? 20;
  const letters: DeadLetterView[] = [];
  const admin = kafka.admin();
  await admin.connect();
  const ends = await withTimeout(admin.fetchTopicOffsets(TOPICS.ORDERS_DLQ), ADMIN_TIMEOUT_MS, 'dead-letter offsets');
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId: `orderflow-dashboard-${process.pid}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPICS.ORDERS_DLQ, fromBeginning: false });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      try {
        letters.push(...deadLetterViews(`${TOPICS.ORDERS_DLQ}-${partition}@${message.offset}`, message));
      } catch (error) {
        options.log?.(`dashboard: dead letter ${partition}@${message.offset}: ${(error as Error).message}`);
      }
      if (letters.length > keep) letters.splice(0, letters.length - keep);
    },
  });
  for (const end of ends) {
    const from = Math.max(Number(end.low), Number(end.high) - keep);
    consumer.seek({ topic: TOPICS.ORDERS_DLQ, partition: end.partition, offset: String(from) });
  }
  return {
    latest: () => [...letters].reverse(),
    stop: () => consumer.disconnect(),
  };
}

/** The data behind the dashboard's JSON endpoints; `localDashboardSources` reads the local stack, tests fake it. */
export interface DashboardSources {
  /** `GET /_dashboard/metrics`. */
  metrics(): Promise<DashboardMetrics>;
  /** `GET /_dashboard/lag`. */
  lag(): Promise<{ readonly partitions: readonly PartitionLag[] }>;
  /** `GET /_dashboard/dlq`. */
  dlq(): Promise<{ readonly count: number; readonly latest: readonly DeadLetterView[] }>;
  /** `POST /_dashboard/redrive?consumer=<function>`. */
  redrive(consumer: FunctionName): Promise<RedriveResult>;
  /** `GET /_dashboard/pipeline`. */
  pipeline(): Promise<DashboardPipeline>;
}

/**
 * `GET /_dashboard/pipeline`: the order API's admission gate (orders in flight, the bound, orders shed with 503)
 * and the AWS SDK calls each function made since `npm run dev` started.
 */
export interface DashboardPipeline extends AdmissionStats {
  /** Calls by function, then by `Service.Operation`. */
  readonly awsCalls: Record<string, AwsCallCounts>;
}

/** `GET /_dashboard/metrics`: the analytics of the last 15 minutes. */
export interface DashboardMetrics {
  /** Validated orders per second over the last seconds, as the status line counts them. */
  readonly ordersPerSecond: number;
  /** One entry per minute, oldest first: validated orders per second (the minute's average) and revenue. */
  readonly minutes: readonly {
    readonly minute: string;
    readonly ordersPerSecond: number;
    readonly revenueCents: Record<Currency, number>;
  }[];
  /** Average order value per currency, in cents; `null` before its first order. */
  readonly averageOrderValueCents: Record<Currency, number | null>;
}

/** Minutes of analytics the dashboard charts. */
export const DASHBOARD_MINUTES = 15;

/** What `localDashboardSources` reads. */
export interface LocalDashboardDeps {
  readonly doc: DynamoDBDocumentClient;
  readonly analyticsTable: string;
  /** Connected. */
  readonly admin: Admin;
  readonly kafka: Kafka;
  readonly follower: DeadLetterFollower;
  /** The status line's rate. */
  readonly ordersPerSecond: () => number;
  /** The running pipeline's admission gate and call counts. */
  readonly pipeline: () => DashboardPipeline;
}

/**
 * The dashboard's data from the local stack, through the readers the status line and the tools use:
 * `readAnalytics`, `consumerLag`, `dlqDepth`, the dead-letter follower and `redriveDeadLetters`.
 */
export function localDashboardSources(deps: LocalDashboardDeps): DashboardSources {
  return {
    metrics: async () => {
      const reading = await readAnalytics(deps.doc, deps.analyticsTable, DASHBOARD_MINUTES);
      const perCurrency = <T>(f: (c: Currency) => T) =>
        Object.fromEntries(CURRENCIES.map((c) => [c, f(c)])) as Record<Currency, T>;
      return {
        ordersPerSecond: deps.ordersPerSecond(),
        minutes: reading.minutes.map(({ minute, byCurrency }) => ({
          minute,
          ordersPerSecond: CURRENCIES.reduce((n, c) => n + byCurrency[c].orders, 0) / 60,
          revenueCents: perCurrency((c) => byCurrency[c].revenueCents),
        })),
        averageOrderValueCents: perCurrency((c) => {
          const total = reading.totals[c];
          return total.orders > 0 ? total.revenueCents / total.orders : null;
        }),
      };
    },
    lag: async () => ({ partitions: await consumerLag(deps.admin) }),
    dlq: async () => ({ count: await dlqDepth(deps.admin), latest: deps.follower.latest() }),
    redrive: (consumer) => redriveDeadLetters({ kafka: deps.kafka, consumer, timeoutMs: 30_000 }),
    pipeline: async () => deps.pipeline(),
  };
}
