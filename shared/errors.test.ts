import { describe, expect, it } from '@jest/globals';
import { asPermanent, failureKind, isTransient, PermanentError, TransientError, ValidationError } from './errors.js';

/** An error as the AWS SDK v3 throws it. */
function awsError(name: string, status: number, fault: 'client' | 'server', retryable?: object) {
  return Object.assign(new Error(`${name} from the service`), {
    name,
    $fault: fault,
    $metadata: { httpStatusCode: status },
    ...(retryable ? { $retryable: retryable } : {}),
  });
}

describe('failureKind', () => {
  it('retries connection errors, timeouts, throttling and 5xx', () => {
    const transient = [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      awsError('ThrottlingException', 400, 'client', { throttling: true }),
      awsError('ProvisionedThroughputExceededException', 400, 'client', { throttling: true }),
      awsError('InternalServerError', 500, 'server'),
      awsError('ResourceNotFoundException', 400, 'client'),
      new TransientError('EventBridge rejected 1 of 1 entries'),
      new Error('an unexpected bug'),
    ];
    expect(transient.map(failureKind)).toEqual(transient.map(() => 'transient'));
  });

  it('dead-letters domain permanent errors and AWS 4xx errors that are our fault at once', () => {
    const permanent = [
      new ValidationError('quantity must be positive'),
      awsError('ValidationException', 400, 'client'),
      awsError('SerializationException', 400, 'client'),
    ];
    expect(permanent.map(failureKind)).toEqual(permanent.map(() => 'permanent'));
    expect(permanent.map(isTransient)).toEqual(permanent.map(() => false));
  });

  it('keeps the reason of a permanent error and gives an AWS one PROCESSING_ERROR, with its cause', () => {
    const aws = awsError('ValidationException', 400, 'client');
    const wrapped = asPermanent(aws);
    expect(wrapped).toBeInstanceOf(PermanentError);
    expect([wrapped.reason, wrapped.cause, wrapped.message]).toEqual([
      'PROCESSING_ERROR',
      aws,
      'ValidationException: ValidationException from the service',
    ]);
    const own = new ValidationError('bad');
    expect(asPermanent(own)).toBe(own);
  });
});
