import { describe, expect, it, jest } from '@jest/globals';
import { TransientError, ValidationError } from './errors.js';
import { failedFrom, sentPerInvocation } from './invocation-outbox.js';
import { kafkaDeadLetterSink, type ProducerRecord, type RecordProducer } from './kafka.js';
import { handleKafkaBatch, type KafkaHandlerOptions } from './lambda.js';
import { BatchRetryError, type MskEvent, type PollerMode, recordsOf } from './msk.js';
import { loadEvent, MemoryKafka, recordedCodec } from './testing/fixtures.js';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';

/** Two partitions: orders.raw-0 at offsets 10, 11, 12 and orders.raw-1 at 20, 21. */
const event = loadEvent<MskEvent>('validate-order/orders-batch.json');

/**
 * A handler whose every record produces one record through a producer like the functions' (the in-memory broker
 * behind `sentPerInvocation`), dead-lettering the offsets in `poison`; `sends` counts the broker's send calls.
 */
function setup(options: { poison?: readonly string[]; pollerMode?: PollerMode } = {}) {
  const kafka = new MemoryKafka();
  const sends: number[] = [];
  const broker: RecordProducer = {
    send: async (records, sendOptions) => {
      sends.push(records.length);
      await kafka.producer.send(records, sendOptions);
    },
    disconnect: async () => {},
  };
  const producer = sentPerInvocation(broker);
  const handler: KafkaHandlerOptions = {
    consumer: 'validate-order',
    codec: recordedCodec(),
    deadLetters: kafkaDeadLetterSink(producer),
    pollerMode: options.pollerMode ?? 'provisioned',
    handle: async (orderEvent, record) => {
      if (options.poison?.includes(record.offset)) throw new ValidationError('bad order');
      const output: ProducerRecord = {
        topic: 'orders.validated',
        key: Buffer.from(orderEvent.orderId),
        value: Buffer.from(record.offset),
        headers: {},
      };
      await producer.send([output]);
    },
  };
  return { kafka, sends, producer, handler };
}

describe('one produce per Kafka invocation', () => {
  it('produces the output of every record of the batch in one send, in batch order', async () => {
    // Prepare
    const { kafka, sends, handler } = setup();

    // Act
    const response = await handleKafkaBatch(event, handler);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(sends).toEqual([5]);
    expect(kafka.records.map((r) => r.value?.toString())).toEqual(['10', '11', '12', '20', '21']);
  });

  it('queues dead letters with the rest, so one send carries both', async () => {
    // Prepare
    const { kafka, sends, handler } = setup({ poison: ['11'] });

    // Act
    const response = await handleKafkaBatch(event, handler);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(sends).toEqual([5]);
    expect(kafka.records.filter((r) => r.topic === 'orders.dlq').map((r) => r.headers['dlq-source-offset'])).toEqual([
      '11',
    ]);
  });

  it('fails every partition from its first record with output when the produce fails, so none is lost', async () => {
    // Prepare
    const { kafka, handler } = setup({ poison: ['20'] });
    kafka.failNextSend = new TransientError('broker unavailable');
    const lines: string[] = [];
    // Powertools writes through a console of its own, errors on stderr.
    const spies = [process.stdout, process.stderr].map((stream) =>
      jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        lines.push(String(chunk));
        return true;
      }),
    );

    // Act
    const response = await handleKafkaBatch(event, handler).finally(() => {
      for (const spy of spies) spy.mockRestore();
    });

    // Assess: the log line is the batch's, without the keys of its last record.
    const logged = lines.filter((l) => l.includes('the batch output could not be produced'));
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0] as string)).not.toHaveProperty('orderId');
    expect(kafka.records).toEqual([]);
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: { partition: 'orders.raw-0', offset: 10 } },
      { itemIdentifier: { partition: 'orders.raw-1', offset: 20 } },
    ]);
  });

  it('keeps a failure the handler reported, and records before the first output, out of the retry', async () => {
    // Prepare: offset 10 produces nothing (another topic's event it ignores), 12 fails on its own.
    const { kafka, handler } = setup();
    const handle = handler.handle;
    const ignoring: KafkaHandlerOptions = {
      ...handler,
      handle: async (orderEvent, record, trace, batch) => {
        if (record.offset === '10') return;
        if (record.offset === '12') throw new TransientError('throttled');
        await handle(orderEvent, record, trace, batch);
      },
    };
    kafka.failNextSend = new TransientError('broker unavailable');

    // Act
    const response = await handleKafkaBatch(event, ignoring);

    // Assess
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: { partition: 'orders.raw-0', offset: 11 } },
      { itemIdentifier: { partition: 'orders.raw-1', offset: 20 } },
    ]);
  });

  it('fails the whole invocation when the produce fails in on-demand mode', async () => {
    // Prepare
    const { kafka, handler } = setup({ pollerMode: 'on-demand' });
    kafka.failNextSend = new TransientError('broker unavailable');

    // Act
    const attempt = handleKafkaBatch(event, handler);

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(BatchRetryError);
    expect(kafka.records).toEqual([]);
  });

  it('sends at once outside an invocation, and a send with its own deadline at once inside one', async () => {
    // Prepare
    const { sends, producer, handler } = setup();
    const record: ProducerRecord = { topic: 'orders.raw', key: null, value: Buffer.from('x'), headers: {} };
    const withDeadline: KafkaHandlerOptions = {
      ...handler,
      handle: async () => {
        await producer.send([record], { signal: AbortSignal.timeout(5_000) });
        expect(sends).toHaveLength(1);
        sends.length = 0;
      },
    };

    // Act
    await producer.send([record]);
    const outside = [...sends];
    sends.length = 0;
    await handleKafkaBatch(event, withDeadline);

    // Assess
    expect(outside).toEqual([1]);
    expect(sends).toEqual([]);
  });

  it('counts the records of a failed produce as failed and skipped, the ones before as processed', () => {
    // Prepare
    const records = recordsOf(event);
    const at = (offset: string) => records.find((r) => r.offset === offset) as (typeof records)[number];
    const reported = { batchItemFailures: [{ itemIdentifier: { partition: 'orders.raw-0', offset: 12 } }] };

    // Act
    const { response, summary } = failedFrom(records, reported, [at('11'), at('20'), at('21')]);

    // Assess
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: { partition: 'orders.raw-0', offset: 11 } },
      { itemIdentifier: { partition: 'orders.raw-1', offset: 20 } },
    ]);
    expect(summary).toEqual({ processed: 1, deadLettered: 0, failed: 2, skipped: 2 });
  });
});
