import { describe, expect, it } from '@jest/globals';
import { settleAll } from './concurrency.js';

describe('settleAll', () => {
  it('keeps at most `limit` calls in flight and returns outcomes in the order of the items', async () => {
    // Prepare
    let inFlight = 0;
    let most = 0;
    const work = async (n: number) => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, (n % 3) + 1));
      inFlight--;
      return n * 2;
    };

    // Act
    const outcomes = await settleAll([1, 2, 3, 4, 5, 6, 7], 3, work);

    // Assess
    expect(most).toBe(3);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : undefined))).toEqual([2, 4, 6, 8, 10, 12, 14]);
  });

  it('runs every item when some fail, and reports each failure where it happened', async () => {
    // Prepare
    const ran: number[] = [];
    const work = async (n: number) => {
      ran.push(n);
      if (n === 2) throw new Error('two failed');
      return n;
    };

    // Act
    const outcomes = await settleAll([1, 2, 3], 1, work);

    // Assess
    expect(ran).toEqual([1, 2, 3]);
    expect(outcomes[1]).toEqual({ status: 'rejected', reason: new Error('two failed') });
    expect(outcomes[2]).toEqual({ status: 'fulfilled', value: 3 });
  });

  it('fails when the limit is not a positive integer', async () => {
    // Act & Assess
    await expect(settleAll([1], 0, async (n) => n)).rejects.toThrow('limit must be a positive integer, got 0');
  });
});
