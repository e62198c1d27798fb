import { describe, expect, it } from '@jest/globals';
import {
  type DesiredTopic,
  type ExistingTopic,
  reconcileTopics,
  type TopicAdmin,
  TopicReconcileError,
} from './topic-reconciler.js';

const desired: DesiredTopic[] = [
  { name: 'a', partitions: 6, retentionMs: 1000 },
  { name: 'b', partitions: 3, retentionMs: 2000 },
];

/** An in-memory cluster; `failures` makes the next calls of an operation throw. */
class FakeAdmin implements TopicAdmin {
  readonly topics = new Map<string, ExistingTopic>();
  readonly calls: string[] = [];
  failures: Partial<Record<keyof TopicAdmin, number>> = {};
  leaderlessDescribes = 0;

  private maybeFail(op: keyof TopicAdmin) {
    const left = this.failures[op] ?? 0;
    if (left > 0) {
      this.failures[op] = left - 1;
      throw new Error(`${op}: LEADER_NOT_AVAILABLE`);
    }
  }

  async describe(names: readonly string[]) {
    this.maybeFail('describe');
    const leaderless = this.leaderlessDescribes > 0;
    if (leaderless) this.leaderlessDescribes -= 1;
    return new Map(
      [...this.topics]
        .filter(([n]) => names.includes(n))
        .map(([n, t]) => [n, { ...t, leadersReady: t.leadersReady && !leaderless }] as const),
    );
  }
  async createTopics(topics: readonly DesiredTopic[]) {
    this.calls.push(`create ${topics.map((t) => t.name).join(',')}`);
    this.maybeFail('createTopics');
    for (const t of topics)
      this.topics.set(t.name, { partitions: t.partitions, retentionMs: t.retentionMs, leadersReady: true });
  }
  async addPartitions(name: string, total: number) {
    this.calls.push(`partitions ${name} ${total}`);
    this.maybeFail('addPartitions');
    const t = this.topics.get(name);
    if (t) this.topics.set(name, { ...t, partitions: total });
  }
  async setRetention(name: string, retentionMs: number) {
    this.calls.push(`retention ${name} ${retentionMs}`);
    this.maybeFail('setRetention');
    const t = this.topics.get(name);
    if (t) this.topics.set(name, { ...t, retentionMs });
  }
}

/** A clock that advances only when the code sleeps. */
function fakeClock() {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    options: (deadlineMs: number) => ({
      deadline: deadlineMs,
      now: () => now,
      sleep: async (ms: number) => {
        slept.push(ms);
        now += ms;
      },
    }),
  };
}

describe('reconcileTopics', () => {
  it('creates missing topics with their partitions and retention', async () => {
    // Prepare
    const admin = new FakeAdmin();
    const clock = fakeClock();

    // Act
    const summary = await reconcileTopics(admin, desired, clock.options(60_000));

    // Assess
    expect(summary).toEqual({
      created: ['a', 'b'],
      partitionsAdded: [],
      retentionChanged: [],
      partitionsAboveSpec: [],
      topics: [
        { name: 'a', action: 'created', changes: ['6 partitions', 'retention.ms 1000'] },
        { name: 'b', action: 'created', changes: ['3 partitions', 'retention.ms 2000'] },
      ],
    });
    expect(admin.calls).toEqual(['create a,b']);
    expect(admin.topics.get('a')).toEqual({ partitions: 6, retentionMs: 1000, leadersReady: true });
  });

  it('changes nothing when the cluster already matches', async () => {
    // Prepare
    const admin = new FakeAdmin();
    await reconcileTopics(admin, desired, fakeClock().options(60_000));
    admin.calls.length = 0;

    // Act
    const summary = await reconcileTopics(admin, desired, fakeClock().options(60_000));

    // Assess
    expect(admin.calls).toEqual([]);
    expect(summary.created).toEqual([]);
    expect(summary.topics).toEqual([
      { name: 'a', action: 'unchanged', changes: [] },
      { name: 'b', action: 'unchanged', changes: [] },
    ]);
  });

  it('adds partitions and updates retention of existing topics, and leaves extra partitions alone', async () => {
    // Prepare
    const admin = new FakeAdmin();
    admin.topics.set('a', { partitions: 3, retentionMs: 1000, leadersReady: true });
    admin.topics.set('b', { partitions: 5, retentionMs: 9, leadersReady: true });

    // Act
    const summary = await reconcileTopics(admin, desired, fakeClock().options(60_000));

    // Assess
    expect(admin.calls).toEqual(['partitions a 6', 'retention b 2000']);
    expect(summary).toEqual({
      created: [],
      partitionsAdded: ['a'],
      retentionChanged: ['b'],
      partitionsAboveSpec: ['b'],
      topics: [
        { name: 'a', action: 'updated', changes: ['partitions 3 -> 6'] },
        { name: 'b', action: 'updated', changes: ['retention.ms 9 -> 2000'] },
      ],
    });
    expect(admin.topics.get('b')).toEqual({ partitions: 5, retentionMs: 2000, leadersReady: true });
  });

  it('creates only the missing topics and updates the others in the same run', async () => {
    // Prepare
    const admin = new FakeAdmin();
    admin.topics.set('b', { partitions: 1, retentionMs: undefined, leadersReady: true });

    // Act
    const summary = await reconcileTopics(admin, desired, fakeClock().options(60_000));

    // Assess
    expect(admin.calls).toEqual(['create a', 'partitions b 3', 'retention b 2000']);
    expect(summary.topics).toEqual([
      { name: 'a', action: 'created', changes: ['6 partitions', 'retention.ms 1000'] },
      { name: 'b', action: 'updated', changes: ['partitions 1 -> 3', 'retention.ms unset -> 2000'] },
    ]);
  });

  it('never deletes a topic the topology does not name, nor lowers a partition count', async () => {
    // Prepare
    const admin = new FakeAdmin();
    admin.topics.set('legacy', { partitions: 12, retentionMs: 5, leadersReady: true });
    admin.topics.set('a', { partitions: 8, retentionMs: 1000, leadersReady: true });
    admin.topics.set('b', { partitions: 3, retentionMs: 2000, leadersReady: true });

    // Act
    const summary = await reconcileTopics(admin, desired, fakeClock().options(60_000));

    // Assess
    expect(admin.calls).toEqual([]);
    expect(admin.topics.get('legacy')).toEqual({ partitions: 12, retentionMs: 5, leadersReady: true });
    expect(admin.topics.get('a')?.partitions).toBe(8);
    expect(summary.partitionsAboveSpec).toEqual(['a']);
    expect(summary.topics.map((t) => t.action)).toEqual(['unchanged', 'unchanged']);
  });

  it('retries while the cluster has no leaders yet, backing off', async () => {
    // Prepare
    const admin = new FakeAdmin();
    admin.failures = { describe: 2, createTopics: 1 };
    admin.leaderlessDescribes = 3;
    const clock = fakeClock();

    // Act
    const summary = await reconcileTopics(admin, desired, clock.options(600_000));

    // Assess
    expect(summary.created).toEqual(['a', 'b']);
    expect(admin.calls).toEqual(['create a,b', 'create a,b']);
    expect(clock.slept.length).toBeGreaterThanOrEqual(4);
    expect(clock.slept[1]).toBe(2 * (clock.slept[0] ?? 0));
  });

  it('fails when the cluster is still unavailable at the deadline, with the last error', async () => {
    // Prepare
    const admin = new FakeAdmin();
    admin.failures = { describe: 1_000 };

    // Act
    const run = reconcileTopics(admin, desired, fakeClock().options(30_000));

    // Assess
    await expect(run).rejects.toThrow(TopicReconcileError);
    await expect(reconcileTopics(admin, desired, fakeClock().options(30_000))).rejects.toThrow(
      /describe topics failed after \d+ attempts: describe: LEADER_NOT_AVAILABLE/,
    );
  });
});
