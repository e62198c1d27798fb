import { describe, expect, it } from '@jest/globals';
import { PermanentError, TransientError, ValidationError } from './errors.js';
import {
  BatchRetryError,
  eventSourceFailureRecordOf,
  type KafkaRecord,
  type MskEvent,
  type PollerMode,
  parseDeadLetter,
  processKafkaBatch,
  recordsOf,
  toMskEvent,
} from './msk.js';
import { loadEvent, MemoryKafka } from './testing/fixtures.js';
import { TOPICS } from './topology.js';

const silent = { warn: () => {}, error: () => {} };
const FAILED_AT = new Date('2026-11-21T10:00:00.000Z');

function batch(spec: Record<number, string[]>): MskEvent {
  const records = Object.entries(spec).flatMap(([partition, values]) =>
    values.map((v, i) => ({
      topic: TOPICS.ORDERS_RAW,
      partition: Number(partition),
      offset: 100 + i,
      timestamp: 1_763_700_000_000,
      key: Buffer.from(`order-${partition}-${i}`),
      value: Buffer.from(v),
      headers: { 'event-type': 'OrderPlaced', 'correlation-id': `c-${i}` },
    })),
  );
  return toMskEvent(records, { bootstrapServers: '127.0.0.1:9092' });
}

/** Runs the batch with a processor that acts on the record's value: ok | bad | flaky. */
async function run(event: MskEvent, kafka = new MemoryKafka(), pollerMode?: PollerMode) {
  const seen: string[] = [];
  const result = await processKafkaBatch(event, {
    consumer: 'validate-order',
    pollerMode,
    deadLetters: kafka.deadLetterSink,
    logger: silent,
    now: () => FAILED_AT,
    process: async (record: KafkaRecord) => {
      const value = record.value?.toString() ?? '';
      seen.push(`${record.partition}@${record.offset}:${value}`);
      if (value === 'bad') throw new ValidationError('quantity must be positive');
      if (value === 'flaky') throw new TransientError('DynamoDB throttled');
    },
  });
  return { ...result, seen, kafka };
}

describe('recordsOf', () => {
  it('decodes base64 keys, values and byte-array headers, tombstones as null', () => {
    const event = toMskEvent(
      [
        { topic: 't', partition: 1, offset: 5, timestamp: 1, key: Buffer.from('k'), value: null, headers: { h: 'v' } },
        { topic: 't', partition: 1, offset: 4, timestamp: 1, key: null, value: Buffer.from('x'), headers: {} },
      ],
      { bootstrapServers: 'b:9092' },
    );

    const records = recordsOf(event);

    expect(event.records['t-1']?.[0]).toEqual({
      topic: 't',
      partition: 1,
      offset: 5,
      timestamp: 1,
      timestampType: 'CREATE_TIME',
      key: 'aw==',
      headers: [{ h: [118] }],
    });
    expect(records.map((r) => [r.offset, r.key?.toString() ?? null, r.value?.toString() ?? null, r.headers])).toEqual([
      ['4', null, 'x', {}],
      ['5', 'k', null, { h: 'v' }],
    ]);
  });
});

describe('processKafkaBatch', () => {
  it('acknowledges a batch that succeeds with an empty failure list', async () => {
    const { response, summary } = await run(batch({ 0: ['ok', 'ok'], 1: ['ok'] }));

    expect(response).toEqual({ batchItemFailures: [] });
    expect(summary).toEqual({ processed: 3, deadLettered: 0, failed: 0, skipped: 0 });
  });

  it('dead-letters a permanent failure with its reason and original bytes, and moves on', async () => {
    const { response, seen, kafka } = await run(batch({ 0: ['ok', 'bad', 'ok'] }));

    expect(response.batchItemFailures).toEqual([]);
    expect(seen).toEqual(['0@100:ok', '0@101:bad', '0@102:ok']);
    expect(kafka.deadLetters).toHaveLength(1);
    const [letter] = kafka.deadLetters;
    expect(letter?.key?.toString()).toBe('order-0-1');
    expect(letter?.value?.toString()).toBe('bad');
    expect(letter?.headers).toEqual({
      'event-type': 'OrderPlaced',
      'correlation-id': 'c-1',
      'dlq-reason': 'VALIDATION_ERROR',
      'dlq-error': 'quantity must be positive',
      'dlq-source-topic': TOPICS.ORDERS_RAW,
      'dlq-source-partition': '0',
      'dlq-source-offset': '101',
      'dlq-consumer': 'validate-order',
      'dlq-failed-at': '2026-11-21T10:00:00.000Z',
    });
  });

  it('reports a transient failure and attempts nothing after it in that partition', async () => {
    const { response, seen, summary } = await run(batch({ 0: ['ok', 'flaky', 'ok', 'ok'], 1: ['ok', 'ok'] }));

    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: { partition: `${TOPICS.ORDERS_RAW}-0`, offset: 101 } },
    ]);
    expect(seen).toEqual(['0@100:ok', '0@101:flaky', '1@100:ok', '1@101:ok']);
    expect(summary).toEqual({ processed: 3, deadLettered: 0, failed: 1, skipped: 2 });
  });

  it('keeps partition order even when Lambda lists records out of order', async () => {
    const event = batch({ 0: ['ok', 'ok', 'ok'] });
    const list = event.records[`${TOPICS.ORDERS_RAW}-0`];
    const reversed: MskEvent = { ...event, records: { [`${TOPICS.ORDERS_RAW}-0`]: [...(list ?? [])].reverse() } };

    const { seen } = await run(reversed);

    expect(seen).toEqual(['0@100:ok', '0@101:ok', '0@102:ok']);
  });

  it('fails the record instead of losing it when the dead letter cannot be written', async () => {
    const kafka = new MemoryKafka();
    kafka.failNextSend = new Error('broker unavailable');

    const { response, seen } = await run(batch({ 0: ['bad', 'ok'] }), kafka);

    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: { partition: `${TOPICS.ORDERS_RAW}-0`, offset: 100 } },
    ]);
    expect(seen).toEqual(['0@100:bad']);
    expect(kafka.deadLetters).toEqual([]);
  });

  it('treats an unexpected error as transient', async () => {
    const { response } = await processKafkaBatch(batch({ 2: ['x'] }), {
      consumer: 'c',
      deadLetters: new MemoryKafka().deadLetterSink,
      logger: silent,
      process: async () => {
        throw new TypeError('cannot read properties of undefined');
      },
    });

    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: { partition: `${TOPICS.ORDERS_RAW}-2`, offset: 100 } },
    ]);
  });

  it('dead-letters a business-impossible record with PROCESSING_ERROR', async () => {
    const kafka = new MemoryKafka();
    await processKafkaBatch(batch({ 0: ['x'] }), {
      consumer: 'c',
      deadLetters: kafka.deadLetterSink,
      logger: silent,
      process: async () => {
        throw new PermanentError('PROCESSING_ERROR', 'order references a deleted customer');
      },
    });

    expect(kafka.deadLetters[0]?.headers['dlq-reason']).toBe('PROCESSING_ERROR');
  });
});

describe('processKafkaBatch in on-demand mode', () => {
  it('throws at the first transient failure, so Lambda retries the whole batch', async () => {
    const seen: string[] = [];
    const process = async (record: KafkaRecord) => {
      const value = record.value?.toString() ?? '';
      seen.push(`${record.partition}@${record.offset}:${value}`);
      if (value === 'flaky') throw new TransientError('DynamoDB throttled');
    };

    const attempt = processKafkaBatch(batch({ 0: ['ok', 'flaky', 'ok'], 1: ['ok'] }), {
      consumer: 'validate-order',
      deadLetters: new MemoryKafka().deadLetterSink,
      logger: silent,
      pollerMode: 'on-demand',
      process,
    });

    const error = await attempt.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BatchRetryError);
    expect(error).toMatchObject({
      record: { topic: TOPICS.ORDERS_RAW, partition: 0, offset: '101' },
      summary: { processed: 1, deadLettered: 0, failed: 1, skipped: 2 },
      cause: expect.objectContaining({ message: 'DynamoDB throttled' }),
    });
    expect(seen).toEqual(['0@100:ok', '0@101:flaky']);
  });

  it('still dead-letters a permanent failure and moves on', async () => {
    const { response, seen, kafka } = await run(batch({ 0: ['bad', 'ok'] }), new MemoryKafka(), 'on-demand');

    expect(response.batchItemFailures).toEqual([]);
    expect(seen).toEqual(['0@100:bad', '0@101:ok']);
    expect(kafka.deadLetters.map((l) => l.headers['dlq-reason'])).toEqual(['VALIDATION_ERROR']);
  });

  it('throws when a dead letter cannot be written, so the record is not lost', async () => {
    const kafka = new MemoryKafka();
    kafka.failNextSend = new Error('broker unavailable');

    const error = await run(batch({ 0: ['bad', 'ok'] }), kafka, 'on-demand').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BatchRetryError);
    expect((error as BatchRetryError).cause).toEqual(new Error('broker unavailable'));
    expect(kafka.deadLetters).toEqual([]);
  });
});

describe('parseDeadLetter', () => {
  const doc = loadEvent<{ key: string; value: Record<string, unknown> }>('dlq/lambda-kafka-on-failure.json');

  it('reads the doc example of a Lambda on-failure destination record down to the original record', () => {
    const letter = parseDeadLetter({
      key: Buffer.from(doc.key, 'base64'),
      value: Buffer.from(JSON.stringify(doc.value)),
      headers: {},
    });

    expect(letter).toEqual({
      kind: 'event-source',
      functionName: 'my-function',
      reason: 'RetriesExhausted',
      detail: 'functionError Unhandled, 3 invocation(s)',
      failedAt: '2019-11-14T18:16:05.568Z',
      records: [
        {
          topic: 'my-topic',
          partition: 0,
          offset: '100',
          timestamp: 1749116692330,
          key: Buffer.from('test-key'),
          value: Buffer.from('test-value'),
          headers: {},
        },
      ],
    });
  });

  it('reads a handler letter back to its original bytes and headers', () => {
    const letter = parseDeadLetter({
      key: Buffer.from('order-1'),
      value: Buffer.from([0, 0, 0, 0, 1, 2]),
      headers: {
        'event-type': 'OrderPlaced',
        'dlq-reason': 'VALIDATION_ERROR',
        'dlq-error': 'quantity must be positive',
        'dlq-source-topic': TOPICS.ORDERS_RAW,
        'dlq-source-partition': '2',
        'dlq-source-offset': '7',
        'dlq-consumer': 'validate-order',
        'dlq-failed-at': '2026-11-21T10:00:00.000Z',
      },
    });

    expect(letter).toMatchObject({
      kind: 'handler',
      functionName: 'validate-order',
      reason: 'VALIDATION_ERROR',
      detail: 'quantity must be positive',
      records: [
        {
          topic: TOPICS.ORDERS_RAW,
          partition: 2,
          offset: '7',
          key: Buffer.from('order-1'),
          value: Buffer.from([0, 0, 0, 0, 1, 2]),
          headers: { 'event-type': 'OrderPlaced' },
        },
      ],
    });
  });

  it('reads back what eventSourceFailureRecordOf writes, headers included', () => {
    const written = eventSourceFailureRecordOf(
      {
        topic: TOPICS.ORDERS_RAW,
        partition: 1,
        offset: '42',
        timestamp: 1_763_700_000_000,
        key: Buffer.from('order-9'),
        value: Buffer.from([0, 1, 2, 255]),
        headers: { 'event-type': 'OrderPlaced' },
      },
      {
        condition: 'RecordAgeExceeded',
        requestId: 'r-1',
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:validate-order:$LATEST',
        approximateInvokeCount: 0,
        functionError: '',
        bootstrapServers: '127.0.0.1:9092',
        eventSourceArn: 'arn:aws:kafka:us-east-1:000000000000:cluster/orderflow-local/x',
        failedAt: FAILED_AT,
      },
    );

    const letter = parseDeadLetter({ ...written, headers: {} });

    expect(written.key?.toString()).toBe('order-9');
    expect(Object.keys(JSON.parse(written.value?.toString() ?? '{}')).sort()).toEqual(Object.keys(doc.value).sort());
    expect(letter).toMatchObject({
      kind: 'event-source',
      functionName: 'validate-order',
      reason: 'RecordAgeExceeded',
      failedAt: FAILED_AT.toISOString(),
      records: [
        {
          topic: TOPICS.ORDERS_RAW,
          partition: 1,
          offset: '42',
          key: Buffer.from('order-9'),
          value: Buffer.from([0, 1, 2, 255]),
          headers: { 'event-type': 'OrderPlaced' },
        },
      ],
    });
  });

  it('fails to recognise a record of neither format', () => {
    expect(parseDeadLetter({ key: null, value: Buffer.from('hello'), headers: {} })).toEqual({
      kind: 'unknown',
      problem: 'no dlq-reason header and the value is not JSON',
    });
    expect(parseDeadLetter({ key: null, value: Buffer.from('{"a":1}'), headers: {} }).kind).toBe('unknown');
  });
});
