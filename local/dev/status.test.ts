import { describe, expect, it } from '@jest/globals';
import { ratePerSecond } from './status.js';

describe('ratePerSecond', () => {
  it('divides the growth of the counter by the time between the oldest and newest sample', () => {
    // Act + Assess
    expect(
      ratePerSecond([
        { at: 1_000, count: 10 },
        { at: 3_000, count: 20 },
        { at: 6_000, count: 60 },
      ]),
    ).toBe(10);
  });

  it('is 0 with fewer than two samples or no time between them', () => {
    // Act + Assess
    expect(ratePerSecond([])).toBe(0);
    expect(ratePerSecond([{ at: 1_000, count: 10 }])).toBe(0);
    expect(
      ratePerSecond([
        { at: 1_000, count: 10 },
        { at: 1_000, count: 30 },
      ]),
    ).toBe(0);
  });
});
