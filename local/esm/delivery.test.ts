import { describe, expect, it } from '@jest/globals';
import { type MskEvent, parseDeadLetter, type RawKafkaRecord, recordsOf } from '../../shared/msk.js';
import { loadEvent } from '../../shared/testing/fixtures.js';
import {
  chunk,
  type DeliveryFailure,
  type DeliveryPolicy,
  deliverPartition,
  deliveryPolicyOf,
  destinationRecordsOf,
  type FailureCause,
  MAX_PAYLOAD_BYTES,
  minimumRetryWindowMs,
  retryDelayMs,
} from './delivery.js';

const NOW = 1_763_700_000_000;
const policy: DeliveryPolicy = {
  batchSize: 3,
  retryAttempts: 2,
  bisectOnError: true,
  reportBatchItemFailures: true,
  maxRecordAgeSeconds: 3600,
};

function records(values: string[], options: { timestamp?: number } = {}): RawKafkaRecord[] {
  return values.map((value, i) => ({
    topic: 'orders.raw',
    partition: 0,
    offset: i,
    timestamp: options.timestamp ?? NOW,
    key: Buffer.from(`k${i}`),
    value: Buffer.from(value),
    headers: {},
  }));
}

/**
 * A function that fails on values: 'boom' throws, 'fail' is reported, 'flaky:N' fails N times then succeeds,
 * 'throws:N' throws N times then succeeds.
 */
function harness() {
  const invocations: string[][] = [];
  const committed: string[] = [];
  const failed: { offsets: string[]; cause: FailureCause }[] = [];
  const failures: DeliveryFailure[] = [];
  const flakyLeft = new Map<string, number>();
  const ports = {
    bootstrapServers: '127.0.0.1:9092',
    eventSourceArn: 'arn:aws:kafka:us-east-1:000000000000:cluster/local/1',
    now: () => NOW,
    sleep: async () => {},
    commit: async (offset: string) => {
      committed.push(offset);
    },
    onFailure: async (rs: readonly RawKafkaRecord[], failure: DeliveryFailure) => {
      failed.push({ offsets: rs.map((r) => String(r.offset)), cause: failure.cause });
      failures.push(failure);
    },
    invoke: async (event: MskEvent) => {
      const batch = recordsOf(event);
      invocations.push(batch.map((r) => r.offset));
      for (const r of batch) {
        const value = r.value?.toString() ?? '';
        if (value === 'boom') throw new Error('handler crashed');
        if (value.startsWith('throws:')) {
          const left = flakyLeft.get(r.offset) ?? Number(value.slice(7));
          flakyLeft.set(r.offset, left - 1);
          if (left > 0) throw new Error('throttled');
        }
        if (value === 'fail')
          return {
            batchItemFailures: [
              { itemIdentifier: { partition: `${r.topic}-${r.partition}`, offset: Number(r.offset) } },
            ],
          };
        if (value.startsWith('flaky:')) {
          const left = flakyLeft.get(r.offset) ?? Number(value.slice(6));
          flakyLeft.set(r.offset, left - 1);
          if (left > 0)
            return {
              batchItemFailures: [
                { itemIdentifier: { partition: `${r.topic}-${r.partition}`, offset: Number(r.offset) } },
              ],
            };
        }
      }
      return { batchItemFailures: [] };
    },
  };
  return { ports, invocations, committed, failed, failures };
}

describe('chunk', () => {
  it('splits by batch size and by the 6 MB payload limit', () => {
    const big = Buffer.alloc(2 * 1024 * 1024);
    const rs = records(['a', 'b', 'c', 'd']).map((r) => ({ ...r, value: big }));

    expect(chunk(records(['a', 'b', 'c', 'd', 'e']), 2).map((c) => c.length)).toEqual([2, 2, 1]);
    expect(chunk(rs, 10, MAX_PAYLOAD_BYTES).map((c) => c.length)).toEqual([2, 2]);
  });
});

describe('deliverPartition', () => {
  it('invokes in batches of batchSize and commits after each', async () => {
    const h = harness();

    await deliverPartition(records(['a', 'b', 'c', 'd']), policy, h.ports);

    expect(h.invocations).toEqual([['0', '1', '2'], ['3']]);
    expect(h.committed).toEqual(['2', '3']);
  });

  it('retries from the first reported failure and commits what succeeded before it', async () => {
    const h = harness();

    await deliverPartition(records(['a', 'flaky:1', 'c']), policy, h.ports);

    expect(h.invocations).toEqual([
      ['0', '1', '2'],
      ['1', '2'],
    ]);
    expect(h.committed).toEqual(['0', '2']);
    expect(h.failed).toEqual([]);
  });

  it('sends a record to the on-failure destination once retries are spent, then moves on', async () => {
    const h = harness();

    await deliverPartition(records(['a', 'fail', 'c']), policy, h.ports);

    expect(h.failed).toEqual([{ offsets: ['1'], cause: 'RETRIES_EXHAUSTED' }]);
    expect(h.invocations).toEqual([['0', '1', '2'], ['1', '2'], ['1', '2'], ['2']]);
    expect(h.committed.at(-1)).toBe('2');
  });

  it('bisects a batch whose invocation throws until the bad record is alone', async () => {
    const h = harness();

    await deliverPartition(records(['a', 'b', 'boom']), { ...policy, retryAttempts: 1 }, h.ports);

    expect(h.invocations).toEqual([['0', '1', '2'], ['0', '1'], ['2'], ['2']]);
    expect(h.failed).toEqual([{ offsets: ['2'], cause: 'RETRIES_EXHAUSTED' }]);
    expect(h.failures[0]).toEqual({
      cause: 'RETRIES_EXHAUSTED',
      error: 'handler crashed',
      invocations: 2,
      threw: true,
    });
    expect(h.committed).toEqual(['1', '2']);
  });

  it('sends records older than the maximum record age to the destination without invoking', async () => {
    const h = harness();
    const old = records(['a'], { timestamp: NOW - 2 * 3600 * 1000 });

    await deliverPartition(old, policy, h.ports);

    expect(h.invocations).toEqual([]);
    expect(h.failed).toEqual([{ offsets: ['0'], cause: 'RECORD_AGE_EXCEEDED' }]);
    expect(h.committed).toEqual(['0']);
  });

  it('treats a response naming an unknown record as a failure of the whole batch', async () => {
    const h = harness();
    let calls = 0;
    const ports = {
      ...h.ports,
      invoke: async (event: MskEvent) => {
        await h.ports.invoke(event);
        calls += 1;
        return calls === 1
          ? { batchItemFailures: [{ itemIdentifier: { partition: 'orders.raw-9', offset: 99 } }] }
          : { batchItemFailures: [] };
      },
    };

    await deliverPartition(records(['a', 'b']), policy, ports);

    expect(h.invocations).toEqual([
      ['0', '1'],
      ['0', '1'],
    ]);
    expect(h.committed).toEqual(['1']);
  });
});

describe('deliverPartition in on-demand mode', () => {
  const onDemand = deliveryPolicyOf(policy, 'on-demand');

  it('has none of the provisioned-mode controls', () => {
    expect(onDemand).toEqual({
      batchSize: 3,
      retryAttempts: -1,
      bisectOnError: false,
      reportBatchItemFailures: false,
      maxRecordAgeSeconds: -1,
    });
    expect(deliveryPolicyOf(policy, 'provisioned')).toBe(policy);
  });

  it('ignores batchItemFailures and commits the batch, as Lambda does (the record is lost)', async () => {
    const h = harness();

    await deliverPartition(records(['a', 'fail', 'c']), onDemand, h.ports);

    expect(h.invocations).toEqual([['0', '1', '2']]);
    expect(h.committed).toEqual(['2']);
    expect(h.failed).toEqual([]);
  });

  it('retries a batch whose invocation throws, whole and past retryAttempts, until it succeeds', async () => {
    const h = harness();

    await deliverPartition(records(['a', 'throws:4', 'c']), onDemand, h.ports);

    expect(h.invocations).toEqual(Array.from({ length: 5 }, () => ['0', '1', '2']));
    expect(h.committed).toEqual(['2']);
    expect(h.failed).toEqual([]);
  });

  it('delivers records of any age', async () => {
    const h = harness();

    await deliverPartition(records(['a'], { timestamp: NOW - 48 * 3600 * 1000 }), onDemand, h.ports);

    expect(h.invocations).toEqual([['0']]);
    expect(h.failed).toEqual([]);
  });
});

describe('destinationRecordsOf', () => {
  it('writes what Lambda writes: the doc example shape, the original key, the original record inside', () => {
    // Prepare
    const doc = loadEvent<{ value: Record<string, Record<string, unknown>> }>('dlq/lambda-kafka-on-failure.json');
    const [record] = records(['boom']).map((r) => ({ ...r, headers: { 'event-type': 'OrderPlaced' } }));

    // Act
    const [letter] = destinationRecordsOf(
      record ? [record] : [],
      { cause: 'RETRIES_EXHAUSTED', error: 'handler crashed', invocations: 6, threw: true },
      {
        functionName: 'validate-order',
        bootstrapServers: '127.0.0.1:9092',
        eventSourceArn: 'arn:aws:kafka:us-east-1:000000000000:cluster/orderflow-local/x',
        failedAt: new Date(NOW),
      },
    );

    // Assess
    const body = JSON.parse(letter?.value?.toString() ?? '{}');
    const shape = (o: Record<string, unknown>) =>
      Object.fromEntries(
        Object.entries(o).map(([k, v]) => [k, v && typeof v === 'object' ? Object.keys(v).sort() : typeof v]),
      );
    expect(shape(body)).toEqual(shape(doc.value));
    expect(letter?.key?.toString()).toBe('k0');
    expect(letter?.headers).toEqual({});
    expect(body.requestContext).toMatchObject({
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:validate-order:$LATEST',
      condition: 'RetriesExhausted',
      approximateInvokeCount: 6,
    });
    expect(body.responseContext.functionError).toBe('Unhandled');
    expect(parseDeadLetter({ key: letter?.key ?? null, value: letter?.value ?? null, headers: {} })).toMatchObject({
      kind: 'event-source',
      functionName: 'validate-order',
      records: [
        { offset: '0', key: Buffer.from('k0'), value: Buffer.from('boom'), headers: { 'event-type': 'OrderPlaced' } },
      ],
    });
  });
});

describe('retryDelayMs', () => {
  it('doubles from 1 s to a 10 s cap with the upper half random, so 10 retries outlast a 30 s outage', () => {
    expect([1, 2, 3, 4, 5, 9].map((n) => retryDelayMs(n, () => 0))).toEqual([500, 1000, 2000, 4000, 5000, 5000]);
    expect([1, 2, 3, 4, 5, 9].map((n) => retryDelayMs(n, () => 1))).toEqual([1000, 2000, 4000, 8000, 10000, 10000]);
    expect(minimumRetryWindowMs(10)).toBe(37_500);
  });
});
