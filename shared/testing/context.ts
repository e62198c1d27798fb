/** A Lambda `Context` for unit tests: fixed ids, 30 s left, no deadline that moves. */
import type { Context } from 'aws-lambda';

/**
 * A test `Context` for `functionName` (ARN, log group and version derived from it); `overrides` replace any field.
 *
 * @example
 * const context = testContext('validate-order');
 * await handler(event, context);
 */
export function testContext(functionName: string, overrides: Partial<Context> = {}): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/11/21/[$LATEST]abcdef',
    getRemainingTimeInMillis: () => 30_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
    ...overrides,
  };
}
