import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { Context } from 'aws-lambda';
import { TransientError, ValidationError } from './errors.js';
import type { OrderflowEvent } from './events.js';
import { type KafkaHandlerOptions, kafkaHandler } from './lambda.js';
import { BatchRetryError, type MskEvent, recordsOf } from './msk.js';
import { logger } from './observability.js';
import { loadEvent, MemoryKafka, recordedCodec } from './testing/fixtures.js';
import { captureOutput } from './testing/output.js';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const context = {
  functionName: 'validate-order',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:validate-order',
  memoryLimitInMB: '512',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  logGroupName: '/aws/lambda/validate-order',
  logStreamName: '2026/11/21/[$LATEST]abcdef',
  callbackWaitsForEmptyEventLoop: false,
  getRemainingTimeInMillis: () => 30_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
} as Context;

/** A batch of several decodable records on one partition, and the handler options over it. */
function setup(fail: (index: number) => Error | undefined) {
  const event = loadEvent<MskEvent>('validate-order/orders-batch.json');
  const records = recordsOf(event);
  const kafka = new MemoryKafka();
  const handled: string[] = [];
  const prepared: OrderflowEvent[][] = [];
  const options: KafkaHandlerOptions<number> = {
    consumer: 'validate-order',
    codec: recordedCodec(),
    deadLetters: kafka.deadLetterSink,
    prepare: async (events) => {
      prepared.push([...events]);
      return events.length;
    },
    handle: async (_event, record, _trace, batch) => {
      handled.push(`${record.offset}/${batch}`);
      const error = fail(records.findIndex((r) => r.offset === record.offset));
      if (error) throw error;
    },
  };
  return { event, records, kafka, handled, prepared, options };
}

describe('kafkaHandler', () => {
  const saved = process.env.POLLER_MODE;
  afterEach(() => {
    if (saved === undefined) delete process.env.POLLER_MODE;
    else process.env.POLLER_MODE = saved;
    jest.restoreAllMocks();
  });

  it('logs each record with its own orderId and correlationId, and the batch loop without them', async () => {
    // Prepare: record 1 is dead-lettered, record 2 does not decode, the others succeed.
    const { event, records, options } = setup((i) => (i === 1 ? new ValidationError('no lines') : undefined));
    const poisoned = records[2];
    const key = `${poisoned?.topic}-${poisoned?.partition}`;
    const notAvro = Buffer.from('not avro').toString('base64');
    const batchEvent: MskEvent = {
      ...event,
      records: {
        ...event.records,
        [key]: (event.records[key] ?? []).map((r) =>
          String(r.offset) === poisoned?.offset ? { ...r, value: notAvro } : r,
        ),
      },
    };
    const codec = recordedCodec();
    const decoded = await Promise.all(records.map((r) => codec.decode(r.value, r).catch(() => undefined)));
    const handler = kafkaHandler({
      ...options,
      handle: async (e, record, trace, batch) => {
        logger.info('handling', { offset: record.offset });
        await options.handle(e, record, trace, batch);
      },
    });
    const output = captureOutput();

    // Act
    await handler(batchEvent, context);
    logger.info('after the batch');

    // Assess
    const lines = output
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const handling = lines.filter((l) => l.message === 'handling');
    expect(handling.map((l) => [l.offset, l.orderId, l.correlationId])).toEqual(
      records.flatMap((r, i) => (i === 2 ? [] : [[r.offset, decoded[i]?.orderId, decoded[i]?.correlationId]])),
    );
    const outside = lines.filter((l) => l.message === 'record dead-lettered' || l.message === 'after the batch');
    expect(outside.map((l) => [l.message, l.offset, 'orderId' in l, 'correlationId' in l])).toEqual([
      ['record dead-lettered', records[1]?.offset, false, false],
      ['record dead-lettered', records[2]?.offset, false, false],
      ['after the batch', undefined, false, false],
    ]);
  });

  it('reports a transient failure in batchItemFailures in provisioned mode (the default)', async () => {
    // Prepare
    delete process.env.POLLER_MODE;
    const { event, records, handled, options } = setup((i) => (i === 1 ? new TransientError('throttled') : undefined));
    const handler = kafkaHandler(options);

    // Act
    const response = await handler(event, context);

    // Assess
    const failed = records[1];
    const afterFailed = (r: (typeof records)[number]) =>
      r.partition === failed?.partition && BigInt(r.offset) > BigInt(failed?.offset ?? 0);
    expect(records.length).toBeGreaterThan(2);
    expect(response).toEqual({
      batchItemFailures: [
        { itemIdentifier: { partition: `${failed?.topic}-${failed?.partition}`, offset: Number(failed?.offset) } },
      ],
    });
    expect(handled).toEqual(records.filter((r) => !afterFailed(r)).map((r) => `${r.offset}/${records.length}`));
  });

  it('throws on a transient failure when POLLER_MODE is on-demand, so Lambda retries the whole batch', async () => {
    // Prepare
    process.env.POLLER_MODE = 'on-demand';
    const { event, records, handled, prepared, options } = setup((i) =>
      i === 1 ? new TransientError('throttled') : undefined,
    );
    const handler = kafkaHandler(options);

    // Act
    const error = await handler(event, context).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(BatchRetryError);
    expect((error as BatchRetryError).record).toEqual({
      topic: records[1]?.topic,
      partition: records[1]?.partition,
      offset: records[1]?.offset,
    });
    expect(prepared).toHaveLength(1);
    expect(handled).toEqual(records.slice(0, 2).map((r) => `${r.offset}/${records.length}`));
  });

  it('dead-letters a permanent failure and succeeds in on-demand mode', async () => {
    // Prepare
    const { event, records, kafka, options } = setup((i) => (i === 0 ? new ValidationError('no lines') : undefined));
    const handler = kafkaHandler({ ...options, pollerMode: 'on-demand' });

    // Act
    const response = await handler(event, context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(kafka.deadLetters.map((l) => [l.headers['dlq-source-offset'], l.headers['dlq-reason']])).toEqual([
      [records[0]?.offset, 'VALIDATION_ERROR'],
    ]);
  });

  it('fails at cold start when POLLER_MODE is neither provisioned nor on-demand', () => {
    process.env.POLLER_MODE = 'eager';
    const { options } = setup(() => undefined);

    expect(() => kafkaHandler(options)).toThrow('POLLER_MODE');
  });
});
