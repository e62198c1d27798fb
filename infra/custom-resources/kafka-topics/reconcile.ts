/**
 * Brings a cluster's topics in line with the topology: creates the missing ones, adds partitions, sets retention.
 * Idempotent (a second run changes nothing) and patient: MSK Serverless answers LEADER_NOT_AVAILABLE, refuses
 * connections and rejects fresh IAM roles for a while after it is created, so every step is retried until the
 * deadline.
 */

/** A topic as the topology wants it. */
export interface DesiredTopic {
  readonly name: string;
  readonly partitions: number;
  readonly retentionMs: number;
}

/** A topic as the cluster has it. */
export interface ExistingTopic {
  readonly partitions: number;
  /** Undefined when the broker did not say (describeConfigs failed or returned nothing). */
  readonly retentionMs: number | undefined;
  /** Every partition has a leader. */
  readonly leadersReady: boolean;
}

/** The Kafka admin operations reconciling needs; `kafkajs-admin.ts` implements it over kafkajs. */
export interface TopicAdmin {
  /** The named topics that exist, with their partitions, retention and leader state. */
  describe(names: readonly string[]): Promise<Map<string, ExistingTopic>>;
  createTopics(topics: readonly DesiredTopic[]): Promise<void>;
  addPartitions(name: string, totalPartitions: number): Promise<void>;
  setRetention(name: string, retentionMs: number): Promise<void>;
}

/** What one reconcile changed, and what it could not. */
export interface ReconcileSummary {
  readonly created: string[];
  readonly partitionsAdded: string[];
  readonly retentionChanged: string[];
  /** Topics with more partitions than asked: Kafka cannot remove partitions, so they are left as they are. */
  readonly partitionsAboveSpec: string[];
}

/** Timing of the retries; tests pass a fake clock. */
export interface RetryOptions {
  /** Epoch milliseconds after which the last error is thrown. */
  readonly deadline: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly log?: (message: string, details?: Record<string, unknown>) => void;
  /** First delay; doubles up to `maxDelayMs`. */
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
}

/** Thrown when the cluster has not converged by the deadline; `cause` is the last error. */
export class TopicReconcileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TopicReconcileError';
  }
}

/** Runs `attempt` until it resolves or the deadline passes, backing off exponentially. */
export async function withRetries<T>(what: string, attempt: () => Promise<T>, options: RetryOptions): Promise<T> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let delay = options.initialDelayMs ?? 1000;
  for (let tries = 1; ; tries += 1) {
    try {
      return await attempt();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (now() + delay >= options.deadline) {
        throw new TopicReconcileError(`${what} failed after ${tries} attempts: ${message}`, { cause: error });
      }
      options.log?.(`${what} failed, retrying`, { attempt: tries, delayMs: delay, error: message });
      await sleep(delay);
      delay = Math.min(delay * 2, options.maxDelayMs ?? 15_000);
    }
  }
}

/**
 * Reconciles `desired` against the cluster, then waits until every topic exists with a leader on each partition.
 *
 * @example
 * await reconcileTopics(kafkajsTopicAdmin(brokers, region), TOPIC_SPECS, { deadline: Date.now() + 600_000 });
 */
export async function reconcileTopics(
  admin: TopicAdmin,
  desired: readonly DesiredTopic[],
  options: RetryOptions,
): Promise<ReconcileSummary> {
  const names = desired.map((t) => t.name);
  const summary: ReconcileSummary = { created: [], partitionsAdded: [], retentionChanged: [], partitionsAboveSpec: [] };

  const existing = await withRetries('describe topics', () => admin.describe(names), options);
  const missing = desired.filter((t) => !existing.has(t.name));
  if (missing.length > 0) {
    await withRetries('create topics', () => admin.createTopics(missing), options);
    summary.created.push(...missing.map((t) => t.name));
  }
  for (const topic of desired) {
    const current = existing.get(topic.name);
    if (!current) continue;
    if (current.partitions < topic.partitions) {
      await withRetries(
        `add partitions to ${topic.name}`,
        () => admin.addPartitions(topic.name, topic.partitions),
        options,
      );
      summary.partitionsAdded.push(topic.name);
    } else if (current.partitions > topic.partitions) {
      summary.partitionsAboveSpec.push(topic.name);
    }
    if (current.retentionMs !== topic.retentionMs) {
      await withRetries(
        `set retention of ${topic.name}`,
        () => admin.setRetention(topic.name, topic.retentionMs),
        options,
      );
      summary.retentionChanged.push(topic.name);
    }
  }

  await withRetries(
    'wait for topic leaders',
    async () => {
      const now = await admin.describe(names);
      const notReady = desired.filter((t) => {
        const topic = now.get(t.name);
        return !topic?.leadersReady || (topic?.partitions ?? 0) < t.partitions;
      });
      if (notReady.length > 0) {
        throw new Error(`topics not ready yet: ${notReady.map((t) => t.name).join(', ')}`);
      }
    },
    options,
  );
  return summary;
}
