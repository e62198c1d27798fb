import { describe, expect, it } from '@jest/globals';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { DesiredTopic, ExistingTopic, TopicAdmin } from '../../../shared/topic-reconciler.js';
import { createHandler, parseTopics } from './handler.js';

const topics: DesiredTopic[] = [{ name: 'orders.raw', partitions: 6, retentionMs: 604800000 }];

function memoryAdmin() {
  const state = { topics: new Map<string, ExistingTopic>(), brokers: [] as string[], disconnected: 0 };
  const admin: TopicAdmin & { disconnect(): Promise<void> } = {
    describe: async (names) => new Map([...state.topics].filter(([n]) => names.includes(n))),
    createTopics: async (ts) => {
      for (const t of ts)
        state.topics.set(t.name, { partitions: t.partitions, retentionMs: t.retentionMs, leadersReady: true });
    },
    addPartitions: async () => {},
    setRetention: async () => {},
    disconnect: async () => {
      state.disconnected += 1;
    },
  };
  return {
    state,
    adminOf: (brokers: string[]) => {
      state.brokers = brokers;
      return admin;
    },
  };
}

function event(
  requestType: 'Create' | 'Update' | 'Delete',
  props: Record<string, string>,
): CloudFormationCustomResourceEvent {
  return {
    RequestType: requestType,
    ServiceToken: 'token',
    ResponseURL: 'https://example.com',
    StackId: 'stack',
    RequestId: 'request',
    LogicalResourceId: 'kafkatopics',
    ResourceType: 'Custom::KafkaTopics',
    ResourceProperties: { ServiceToken: 'token', ...props },
    ...(requestType === 'Create' ? {} : { PhysicalResourceId: 'kafka-topics-kafkatopics', OldResourceProperties: {} }),
  } as CloudFormationCustomResourceEvent;
}

const context = { getRemainingTimeInMillis: () => 600_000 };

describe('kafka-topics handler', () => {
  it('creates the topics on create, through the given brokers, and disconnects', async () => {
    // Prepare
    const memory = memoryAdmin();
    const onEvent = createHandler(memory.adminOf);

    // Act
    const response = await onEvent(
      event('Create', { BootstrapBrokers: 'b-1:9098, b-2:9098', Topics: JSON.stringify(topics) }),
      context,
    );

    // Assess
    expect(response).toEqual({
      PhysicalResourceId: 'kafka-topics-kafkatopics',
      Data: { Topics: 'orders.raw', Created: 'orders.raw' },
    });
    expect(memory.state.brokers).toEqual(['b-1:9098', 'b-2:9098']);
    expect([...memory.state.topics.keys()]).toEqual(['orders.raw']);
    expect(memory.state.disconnected).toBe(1);
  });

  it('keeps the physical id on update and creates nothing twice', async () => {
    // Prepare
    const memory = memoryAdmin();
    const onEvent = createHandler(memory.adminOf);
    const props = { BootstrapBrokers: 'b-1:9098', Topics: JSON.stringify(topics) };
    await onEvent(event('Create', props), context);

    // Act
    const response = await onEvent(event('Update', props), context);

    // Assess
    expect(response).toEqual({
      PhysicalResourceId: 'kafka-topics-kafkatopics',
      Data: { Topics: 'orders.raw', Created: '' },
    });
  });

  it('leaves topics in place on delete without connecting', async () => {
    // Prepare
    const memory = memoryAdmin();
    const onEvent = createHandler(memory.adminOf);

    // Act
    const response = await onEvent(event('Delete', { BootstrapBrokers: 'b-1:9098', Topics: '[]' }), context);

    // Assess
    expect(response).toEqual({ PhysicalResourceId: 'kafka-topics-kafkatopics' });
    expect(memory.state.brokers).toEqual([]);
  });

  it('fails when the Topics property is not a list of topics, showing the value', () => {
    expect(() => parseTopics('nope')).toThrow('Topics must be a json array, got "nope"');
    expect(() => parseTopics('[{"name":"x"}]')).toThrow(
      'Topics must be a non-empty array of {name, partitions, retentionMs}, got [{"name":"x"}]',
    );
  });
});
