/**
 * The one topic reconciler, used by the `kafka-topics` custom resource on MSK and by local provisioning: brings a
 * cluster's topics in line with the topology (`TOPIC_SPECS` in shared/topology.ts). It creates the missing ones,
 * adds partitions, sets `retention.ms`, and never deletes a topic or shrinks one (Kafka cannot remove partitions).
 * Idempotent (a second run changes nothing) and patient: MSK Serverless answers LEADER_NOT_AVAILABLE, refuses
 * connections and rejects fresh IAM roles for a while after it is created, and a local broker that just started
 * has no leaders yet, so every step is retried until the deadline.
 *
 * What differs between callers stays at the caller: the connection (SASL/IAM on MSK, plaintext locally), the
 * replication factor, the deadline, and what is made of the summary (a CloudFormation response, a change list).
 */
import kafkajs from 'kafkajs';
import { type KafkaConnection, kafkaConfig } from './kafka.js';

// kafkajs is CommonJS and Node cannot see this export by name (esbuild can, tsx under Node cannot).
const { ConfigResourceTypes, Kafka } = kafkajs;

const RETENTION = 'retention.ms';

/** A topic as the topology wants it; every `TopicSpec` of shared/topology.ts is one. */
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

/** The Kafka admin operations reconciling needs; `kafkajsTopicAdmin` implements it over kafkajs. */
export interface TopicAdmin {
  /** The named topics that exist, with their partitions, retention and leader state. */
  describe(names: readonly string[]): Promise<Map<string, ExistingTopic>>;
  createTopics(topics: readonly DesiredTopic[]): Promise<void>;
  addPartitions(name: string, totalPartitions: number): Promise<void>;
  setRetention(name: string, retentionMs: number): Promise<void>;
}

/** A `TopicAdmin` holding a connection, to be closed by whoever opened it. */
export interface ConnectedTopicAdmin extends TopicAdmin {
  disconnect(): Promise<void>;
}

/** What one reconcile did to one topic. */
export interface TopicChange {
  readonly name: string;
  readonly action: 'created' | 'updated' | 'unchanged';
  /**
   * What was created or changed, e.g. `['6 partitions', 'retention.ms 604800000']` or `['partitions 3 -> 6']`;
   * empty when unchanged.
   */
  readonly changes: readonly string[];
}

/** What one reconcile changed, and what it could not. */
export interface ReconcileSummary {
  readonly created: string[];
  readonly partitionsAdded: string[];
  readonly retentionChanged: string[];
  /** Topics with more partitions than asked: Kafka cannot remove partitions, so they are left as they are. */
  readonly partitionsAboveSpec: string[];
  /** One entry per desired topic, in the order asked. */
  readonly topics: TopicChange[];
}

/** Timing of the retries; tests pass a fake clock. */
export interface RetryOptions {
  /** Epoch milliseconds after which the last error is thrown. */
  readonly deadline: number;
  /** @default - Date.now */
  readonly now?: () => number;
  /** @default - setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Called before each retry. @default - silent */
  readonly log?: (message: string, details?: Record<string, unknown>) => void;
  /** First delay; doubles up to `maxDelayMs`. @default 1000 */
  readonly initialDelayMs?: number;
  /** @default 15000 */
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
 * const admin = kafkajsTopicAdmin({ brokers, auth: 'iam', region, clientId: 'orderflow-kafka-topics' });
 * try {
 *   const summary = await reconcileTopics(admin, TOPIC_SPECS, { deadline: Date.now() + 600_000 });
 *   summary.topics.filter((t) => t.action === 'unchanged').length; // all of them on a second run
 * } finally {
 *   await admin.disconnect();
 * }
 */
export async function reconcileTopics(
  admin: TopicAdmin,
  desired: readonly DesiredTopic[],
  options: RetryOptions,
): Promise<ReconcileSummary> {
  const names = desired.map((t) => t.name);
  const summary: ReconcileSummary = {
    created: [],
    partitionsAdded: [],
    retentionChanged: [],
    partitionsAboveSpec: [],
    topics: [],
  };

  const existing = await withRetries('describe topics', () => admin.describe(names), options);
  const missing = desired.filter((t) => !existing.has(t.name));
  if (missing.length > 0) {
    await withRetries('create topics', () => admin.createTopics(missing), options);
    summary.created.push(...missing.map((t) => t.name));
  }
  for (const topic of desired) {
    const current = existing.get(topic.name);
    if (!current) {
      summary.topics.push({
        name: topic.name,
        action: 'created',
        changes: [`${topic.partitions} partitions`, `${RETENTION} ${topic.retentionMs}`],
      });
      continue;
    }
    const changes: string[] = [];
    if (current.partitions < topic.partitions) {
      await withRetries(
        `add partitions to ${topic.name}`,
        () => admin.addPartitions(topic.name, topic.partitions),
        options,
      );
      summary.partitionsAdded.push(topic.name);
      changes.push(`partitions ${current.partitions} -> ${topic.partitions}`);
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
      changes.push(`${RETENTION} ${current.retentionMs ?? 'unset'} -> ${topic.retentionMs}`);
    }
    summary.topics.push({ name: topic.name, action: changes.length > 0 ? 'updated' : 'unchanged', changes });
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

/** Options of `kafkajsTopicAdmin`. */
export interface KafkajsTopicAdminOptions {
  /** Replication factor of the topics it creates. @default - the broker's `default.replication.factor` */
  readonly replicationFactor?: number;
}

/**
 * A connected-on-demand kafkajs admin as a `TopicAdmin` (SASL OAUTHBEARER signed with the caller's role on MSK,
 * plaintext locally, as `connection.auth` says); call `disconnect` when done.
 *
 * @example
 * const admin = kafkajsTopicAdmin(
 *   { brokers: ['127.0.0.1:9092'], auth: 'none', region: 'us-east-1', clientId: 'orderflow-provision' },
 *   { replicationFactor: 1 },
 * );
 */
export function kafkajsTopicAdmin(
  connection: KafkaConnection,
  options: KafkajsTopicAdminOptions = {},
): ConnectedTopicAdmin {
  // Retries live in `reconcileTopics`, which knows the deadline; kafkajs' own are kept short.
  const admin = new Kafka({ ...kafkaConfig(connection), retry: { retries: 2, initialRetryTime: 300 } }).admin();
  let connected: Promise<void> | undefined;
  const connect = () => {
    connected ??= admin.connect().catch((error: unknown) => {
      connected = undefined;
      throw error;
    });
    return connected;
  };
  return {
    async describe(names) {
      await connect();
      const present = (await admin.listTopics()).filter((t) => names.includes(t));
      const result = new Map<string, ExistingTopic>();
      if (present.length === 0) return result;
      const { topics } = await admin.fetchTopicMetadata({ topics: present });
      const configs = await admin.describeConfigs({
        includeSynonyms: false,
        resources: present.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: [RETENTION] })),
      });
      for (const topic of topics) {
        const entry = configs.resources
          .find((r) => r.resourceName === topic.name)
          ?.configEntries.find((c) => c.configName === RETENTION);
        result.set(topic.name, {
          partitions: topic.partitions.length,
          retentionMs: entry ? Number(entry.configValue) : undefined,
          leadersReady: topic.partitions.every((p) => p.leader >= 0 && p.partitionErrorCode === 0),
        });
      }
      return result;
    },
    async createTopics(topics: readonly DesiredTopic[]) {
      await connect();
      // Resolves false (no error) for topics that already exist, which keeps a retried create idempotent.
      await admin.createTopics({
        waitForLeaders: true,
        topics: topics.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          ...(options.replicationFactor === undefined ? {} : { replicationFactor: options.replicationFactor }),
          configEntries: [{ name: RETENTION, value: String(t.retentionMs) }],
        })),
      });
    },
    async addPartitions(name, totalPartitions) {
      await connect();
      await admin.createPartitions({ topicPartitions: [{ topic: name, count: totalPartitions }] });
    },
    async setRetention(name, retentionMs) {
      await connect();
      // kafkajs only has the non-incremental AlterConfigs; retention.ms is the only topic config orderflow sets.
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          { type: ConfigResourceTypes.TOPIC, name, configEntries: [{ name: RETENTION, value: String(retentionMs) }] },
        ],
      });
    },
    async disconnect() {
      if (connected) await admin.disconnect();
      connected = undefined;
    },
  };
}
