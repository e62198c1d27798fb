import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { maskEmail, metrics, metricsLogger, tracingEnabled } from './observability.js';

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
