/**
 * The topology's topics on the local broker, through the reconciler the MSK custom resource uses too
 * (shared/topic-reconciler.ts). What is local stays here: plaintext, one replica (the local stack has one broker),
 * and a short deadline, since the broker already answered the health check.
 */

import { kafkajsTopicAdmin, reconcileTopics } from '../../shared/topic-reconciler.js';
import { TOPIC_SPECS } from '../../shared/topology.js';
import type { StackConfig } from '../stack/config.js';
import type { ProvisionChange, ProvisionLog } from './change.js';

/** How long the local broker may answer LEADER_NOT_AVAILABLE (just started) before provisioning fails. */
const LOCAL_DEADLINE_MS = 30_000;

/** Topics with their partitions and `retention.ms`; partitions only ever grow (Kafka cannot shrink them). */
export async function provisionTopics(
  config: Pick<StackConfig, 'kafkaBrokers' | 'awsRegion'>,
  log: ProvisionLog = () => undefined,
): Promise<ProvisionChange[]> {
  const admin = kafkajsTopicAdmin(
    { brokers: config.kafkaBrokers, auth: 'none', region: config.awsRegion, clientId: 'orderflow-provision' },
    { replicationFactor: 1 },
  );
  try {
    const summary = await reconcileTopics(admin, TOPIC_SPECS, {
      deadline: Date.now() + LOCAL_DEADLINE_MS,
      initialDelayMs: 250,
      log: (message, details) => log(`${message}${details?.error ? `: ${details.error}` : ''}`),
    });
    for (const name of summary.partitionsAboveSpec) {
      log(`topic ${name} keeps more partitions than the topology asks (kafka cannot remove partitions)`);
    }
    return summary.topics.map((t) => ({
      resource: `topic ${t.name}`,
      action: t.action,
      detail: t.changes.join(', ') || undefined,
    }));
  } finally {
    await admin.disconnect();
  }
}
