import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { TransientError, ValidationError } from './errors.js';
import {
  isExpectedError,
  logger,
  maskEmail,
  metrics,
  metricsLogger,
  setRecordLogKeys,
  tracingEnabled,
  withRecordLogKeys,
} from './observability.js';
import { captureOutput } from './testing/output.js';

describe('tracingEnabled', () => {
  it('traces in Lambda unless POWERTOOLS_TRACE_ENABLED is false', () => {
    // Act + Assess
    expect(tracingEnabled({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x' })).toBe(true);
    expect(tracingEnabled({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x', POWERTOOLS_TRACE_ENABLED: 'false' })).toBe(
      false,
    );
  });

  it('does not trace outside Lambda unless POWERTOOLS_TRACE_ENABLED is true', () => {
    // Act + Assess
    expect(tracingEnabled({})).toBe(false);
    expect(tracingEnabled({ AWS_LAMBDA_FUNCTION_NAME: 'validate-order' })).toBe(false);
    expect(tracingEnabled({ POWERTOOLS_TRACE_ENABLED: 'true' })).toBe(true);
  });
});

describe('maskEmail', () => {
  it('keeps the first letter and the domain', () => {
    // Act + Assess
    expect(maskEmail('ada.lovelace@example.com')).toBe('a***@example.com');
    expect(maskEmail('broken')).toBe('***');
  });
});

describe('metrics', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('publishes an invocation without metrics silently, and passes its other warnings on', () => {
    // Prepare: Powertools writes its warnings through a console of its own, on stderr.
    const written: string[] = [];
    for (const stream of [process.stdout, process.stderr]) {
      jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      });
    }
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});

    // Act
    metrics.publishStoredMetrics();
    metricsLogger.warn('Namespace should be defined, default used');

    // Assess
    expect(written.filter((line) => line.includes('No application metrics'))).toEqual([]);
    expect(warn.mock.calls).toEqual([['Namespace should be defined, default used']]);
  });
});

describe('logger record keys', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  /** The JSON lines Powertools writes while `fn` runs (it writes through a console of its own). */
  async function linesOf(fn: () => Promise<void>): Promise<Record<string, unknown>[]> {
    const written: string[] = [];
    for (const stream of [process.stdout, process.stderr]) {
      jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      });
    }
    await fn();
    jest.restoreAllMocks();
    return written.flatMap((chunk) =>
      chunk
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line)),
    );
  }

  it("adds the record's keys to its lines, its children's and errors', under the line's own attributes", async () => {
    // Act
    const lines = await linesOf(() =>
      withRecordLogKeys(async () => {
        logger.warn('before any record');
        setRecordLogKeys({ orderId: 'o-1', correlationId: 'c-1' });
        logger.warn('first', { step: 1 });
        await Promise.resolve();
        setRecordLogKeys({ orderId: 'o-2', correlationId: 'c-2' });
        logger.createChild().warn('second, from a child');
        logger.error('failed', new Error('boom'));
        logger.warn('own orderId wins', { orderId: 'mine' });
        setRecordLogKeys(undefined);
        logger.warn('cleared');
      }),
    );
    await linesOf(async () => logger.warn('outside'));

    // Assess
    expect(lines.map((l) => [l.message, l.orderId, l.correlationId])).toEqual([
      ['before any record', undefined, undefined],
      ['first', 'o-1', 'c-1'],
      ['second, from a child', 'o-2', 'c-2'],
      ['failed', 'o-2', 'c-2'],
      ['own orderId wins', 'mine', 'c-2'],
      ['cleared', undefined, undefined],
    ]);
    expect(lines[1]?.step).toBe(1);
    expect(lines[3]?.error).toMatchObject({ message: 'boom' });
  });

  it('keeps concurrent invocations apart, and sets nothing outside one', async () => {
    // Act
    setRecordLogKeys({ orderId: 'nowhere' });
    const lines = await linesOf(async () => {
      await Promise.all(
        ['a', 'b'].map((id) =>
          withRecordLogKeys(async () => {
            setRecordLogKeys({ orderId: id });
            await new Promise((resolve) => setTimeout(resolve, id === 'a' ? 5 : 0));
            logger.warn(`line of ${id}`);
          }),
        ),
      );
      logger.warn('after both');
    });

    // Assess
    expect(lines.map((l) => [l.message, l.orderId]).sort()).toEqual([
      ['after both', undefined],
      ['line of a', 'a'],
      ['line of b', 'b'],
    ]);
  });
});

describe('logger errors', () => {
  afterEach(() => {
    jest.restoreAllMocks();
    logger.setLogLevel('INFO');
  });

  /** The `error` field of each JSON line written. */
  const errorsOf = (output: string[]) =>
    output.map(
      (line) => (JSON.parse(line) as { error: Record<string, unknown> & { cause?: Record<string, unknown> } }).error,
    );

  it('logs an expected error and its causes with name, message and location but no stack', () => {
    // Prepare
    const output = captureOutput();
    const throttled = Object.assign(new Error('Rate exceeded'), {
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
    });

    // Act
    logger.error('record failed', { error: new TransientError('could not publish', { cause: throttled }) });
    logger.warn('record dead-lettered', { error: new ValidationError('quantity must be at least 1') });

    // Assess
    const [transient, invalid] = errorsOf(output);
    expect(transient).toEqual({
      name: 'TransientError',
      location: expect.stringMatching(/observability\.test\.ts:\d+$/),
      message: 'could not publish',
      cause: {
        name: 'ThrottlingException',
        location: expect.stringMatching(/observability\.test\.ts:\d+$/),
        message: 'Rate exceeded',
        $metadata: { httpStatusCode: 400 },
      },
    });
    expect(invalid).toMatchObject({ name: 'ValidationError', message: 'quantity must be at least 1' });
    expect(invalid).not.toHaveProperty('stack');
  });

  it('logs an unexpected error in full, and every stack at DEBUG', () => {
    // Prepare
    const output = captureOutput();

    // Act
    logger.error('bug', { error: new TypeError("Cannot read properties of undefined (reading 'items')") });
    logger.setLogLevel('DEBUG');
    logger.error('planned outage', { error: new TransientError('gateway unavailable') });

    // Assess
    const [bug, debug] = errorsOf(output);
    expect(bug?.stack).toEqual(expect.stringContaining('TypeError: Cannot read properties of undefined'));
    expect(debug?.stack).toEqual(expect.stringContaining('TransientError: gateway unavailable'));
  });

  it('tells expected errors from unexpected ones', () => {
    // Act + Assess
    expect(isExpectedError(new TransientError('x'))).toBe(true);
    expect(isExpectedError(Object.assign(new Error('x'), { $metadata: {} }))).toBe(true);
    expect(isExpectedError(Object.assign(new Error('x'), { name: 'KafkaJSConnectionError' }))).toBe(true);
    expect(isExpectedError(new Error('x'))).toBe(false);
    expect(isExpectedError(new RangeError('x'))).toBe(false);
  });
});
