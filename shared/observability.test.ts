import { describe, expect, it } from '@jest/globals';
import { maskEmail, tracingEnabled } from './observability.js';

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
