/** `TopicAdmin` over a kafkajs admin client (SASL OAUTHBEARER signed with the function's role on MSK). */
import { ConfigResourceTypes, Kafka } from 'kafkajs';
import { type KafkaConnection, kafkaConfig } from '../../../shared/kafka.js';
import type { DesiredTopic, ExistingTopic, TopicAdmin } from './reconcile.js';

const RETENTION = 'retention.ms';

/** A connected-on-demand kafkajs admin as a `TopicAdmin`; call `disconnect` when done. */
export function kafkajsTopicAdmin(connection: KafkaConnection): TopicAdmin & { disconnect(): Promise<void> } {
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
