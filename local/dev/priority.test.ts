import { describe, expect, it } from '@jest/globals';
import { FUNCTION_NAMES } from '../../shared/topology.js';
import { FIRST_STAGE_NICENESS, sandboxNiceness, stageDepths } from './priority.js';

describe('stageDepths', () => {
  it('ranks every function by its distance from the order API in the topology', () => {
    // Act
    const depths = stageDepths();

    // Assess
    expect(depths).toEqual({
      'order-api': 0,
      'live-connections': 0,
      'validate-order': 1,
      'order-analytics': 2,
      'reserve-inventory': 3,
      'process-payment': 3,
      'order-status': 3,
      'send-order-email': 4,
      'live-notifier': 4,
    });
    expect(Object.keys(depths).sort()).toEqual([...FUNCTION_NAMES].sort());
  });
});

describe('sandboxNiceness', () => {
  it('gives later stages lower nice values, and the synchronous functions 0', () => {
    // Act
    const nice = Object.fromEntries(FUNCTION_NAMES.map((fn) => [fn, sandboxNiceness(fn)]));

    // Assess
    expect(nice['order-api']).toBe(0);
    expect(nice['live-connections']).toBe(0);
    expect(nice['validate-order']).toBe(FIRST_STAGE_NICENESS);
    expect(nice['validate-order']).toBeGreaterThan(nice['order-analytics'] as number);
    expect(nice['order-analytics']).toBeGreaterThan(nice['order-status'] as number);
    expect(nice['order-status']).toBeGreaterThan(nice['send-order-email'] as number);
    expect(nice['send-order-email']).toBeGreaterThan(0);
  });

  it('stays within 1 to 19 for an asynchronous function however deep', () => {
    // Act + Assess
    expect(sandboxNiceness('send-order-email', { ...stageDepths(), 'send-order-email': 40 })).toBe(1);
    expect(sandboxNiceness('validate-order', { ...stageDepths(), 'validate-order': -10 })).toBe(19);
  });
});
