import { describe, expect, it } from '@jest/globals';
import { parseDeadLetter } from '../../shared/msk.js';
import { loadEvent } from '../../shared/testing/fixtures.js';
import { deadLetterMessageOf, firstOfEachSource, isFunctionOf, matches, redriveHeaders } from './dlq-redrive.js';
import { parseMix, pickKind } from './simulate.js';
import { describeDeadLetter, maskEmails } from './tail.js';

/** The doc's example of Lambda's on-failure destination record, as kafkajs hands it to the tools. */
function lambdaRecord(functionArn?: string) {
  const doc = loadEvent<{ key: string; value: { requestContext: { functionArn: string } } }>(
    'dlq/lambda-kafka-on-failure.json',
  );
  if (functionArn) doc.value.requestContext.functionArn = functionArn;
  return deadLetterMessageOf({ key: Buffer.from(doc.key, 'base64'), value: Buffer.from(JSON.stringify(doc.value)) });
}

describe('simulate mix', () => {
  it('parses weights and picks kinds in proportion', () => {
    const mix = parseMix('good=50,poison=50');

    expect(mix).toMatchObject({ good: 50, poison: 50, decline: 0 });
    expect([0.1, 0.49, 0.51, 0.99].map((u) => pickKind(mix, u))).toEqual(['good', 'good', 'poison', 'poison']);
  });

  it('fails when a kind is unknown or no weight is positive', () => {
    expect(() => parseMix('good=1,refund=2')).toThrow('unknown kind refund');
    expect(() => parseMix('good=0')).toThrow('at least one weight');
    expect(() => parseMix('good=-1')).toThrow('must be a number >= 0');
  });
});

describe('dlq redrive', () => {
  const headers = {
    'event-type': 'OrderPlaced',
    'dlq-reason': 'VALIDATION_ERROR',
    'dlq-consumer': 'validate-order',
    'dlq-source-topic': 'orders.raw',
    'dlq-source-partition': '0',
    'dlq-source-offset': '12',
  };
  const ours = parseDeadLetter(deadLetterMessageOf({ key: Buffer.from('o-1'), value: Buffer.from('v'), headers }));

  it('selects the letters of one consumer, optionally of one reason', () => {
    expect(matches(ours, 'validate-order')).toBe(true);
    expect(matches(ours, 'validate-order', 'VALIDATION_ERROR')).toBe(true);
    expect(matches(ours, 'validate-order', 'SCHEMA_NOT_FOUND')).toBe(false);
    expect(matches(ours, 'order-status')).toBe(false);
  });

  it("selects Lambda's on-failure records by the function in their ARN, optionally by condition", () => {
    const deployed = parseDeadLetter(
      lambdaRecord('arn:aws:lambda:us-east-1:123456789012:function:Orderflow-ValidateOrderFunction-Ab12Cd34:$LATEST'),
    );
    const local = parseDeadLetter(
      lambdaRecord('arn:aws:lambda:us-east-1:000000000000:function:validate-order:$LATEST'),
    );

    expect(matches(deployed, 'validate-order')).toBe(true);
    expect(matches(local, 'validate-order', 'RetriesExhausted')).toBe(true);
    expect(matches(local, 'validate-order', 'RecordAgeExceeded')).toBe(false);
    expect(matches(deployed, 'order-status')).toBe(false);
    expect(matches(parseDeadLetter(lambdaRecord()), 'validate-order')).toBe(false);
  });

  it('recognises a function by its own name or its CloudFormation physical name only', () => {
    expect(isFunctionOf('order-status', 'order-status')).toBe(true);
    expect(isFunctionOf('Orderflow-OrderStatusFunction-1X2Y3Z', 'order-status')).toBe(true);
    expect(isFunctionOf('Orderflow-OrderStatusFunctionOld-1X2Y3Z', 'order-status')).toBe(false);
    expect(isFunctionOf('order-status-v2', 'order-status')).toBe(false);
  });

  it("unwraps Lambda's record to the original topic, key, value and headers to republish", () => {
    const letter = parseDeadLetter(lambdaRecord());

    expect(letter.kind === 'event-source' && letter.records).toEqual([
      {
        topic: 'my-topic',
        partition: 0,
        offset: '100',
        timestamp: 1749116692330,
        key: Buffer.from('test-key'),
        value: Buffer.from('test-value'),
        headers: {},
      },
    ]);
  });

  it('republishes a source record dead-lettered twice (an on-demand replay) only once', () => {
    const seen = new Set<string>();
    const again = parseDeadLetter(
      deadLetterMessageOf({
        key: Buffer.from('o-1'),
        value: Buffer.from('v'),
        headers: { ...headers, 'dlq-failed-at': 'later' },
      }),
    );

    const first = ours.kind === 'handler' ? firstOfEachSource(ours.records, seen) : [];
    const second = again.kind === 'handler' ? firstOfEachSource(again.records, seen) : [];

    expect(first.map((r) => `${r.topic}-${r.partition}@${r.offset}`)).toEqual(['orders.raw-0@12']);
    expect(second).toEqual([]);
  });

  it('drops the dlq headers and records where the letter came from', () => {
    expect(redriveHeaders(headers, 'orders.dlq/0@7')).toEqual({
      'event-type': 'OrderPlaced',
      'dlq-redriven-from': 'orders.dlq/0@7',
    });
    expect(ours.kind === 'handler' && redriveHeaders({ ...ours.records[0]?.headers }, 'orders.dlq/0@7')).toEqual({
      'event-type': 'OrderPlaced',
      'dlq-redriven-from': 'orders.dlq/0@7',
    });
  });
});

describe('tail', () => {
  it('masks every email in a decoded value', () => {
    expect(maskEmails({ orderId: 'o', email: 'ada@example.com', lines: [{ email: 'bob@example.com' }] })).toEqual({
      orderId: 'o',
      email: 'a***@example.com',
      lines: [{ email: 'b***@example.com' }],
    });
  });
});

describe('tail --dlq', () => {
  it('shows both kinds of dead letter on one line each, with the source record and the decoded event', () => {
    const ours = deadLetterMessageOf({
      key: Buffer.from('o-1'),
      value: Buffer.from('v'),
      headers: {
        'dlq-reason': 'VALIDATION_ERROR',
        'dlq-error': 'quantity must be positive',
        'dlq-consumer': 'validate-order',
        'dlq-source-topic': 'orders.raw',
        'dlq-source-partition': '1',
        'dlq-source-offset': '12',
        'dlq-failed-at': '2026-11-21T10:00:00.000Z',
      },
    });

    const lines = [
      ...describeDeadLetter('orders.dlq-0@3', parseDeadLetter(ours), () => '{"orderId":"o-1"}'),
      ...describeDeadLetter('orders.dlq-0@4', parseDeadLetter(lambdaRecord())),
      ...describeDeadLetter(
        'orders.dlq-0@5',
        parseDeadLetter(deadLetterMessageOf({ key: null, value: Buffer.from('x') })),
      ),
    ];

    expect(lines).toEqual([
      'orders.dlq-0@3 [handler] VALIDATION_ERROR by validate-order at 2026-11-21T10:00:00.000Z from orders.raw-1@12 key=o-1: quantity must be positive {"orderId":"o-1"}',
      'orders.dlq-0@4 [event-source] RetriesExhausted by my-function at 2019-11-14T18:16:05.568Z from my-topic-0@100 key=test-key: functionError Unhandled, 3 invocation(s)',
      'orders.dlq-0@5 [unknown] no dlq-reason header and the value is not JSON',
    ]);
  });
});
