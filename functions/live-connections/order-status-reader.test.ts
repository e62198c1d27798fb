import { describe, expect, it } from '@jest/globals';
import { currentStatusOf } from './order-status-reader.js';

describe('currentStatusOf', () => {
  it('takes the time of the latest history entry, not of the last write', () => {
    // Act
    const current = currentStatusOf('order-1', {
      status: 'VALIDATED',
      history: [
        { status: 'PLACED', at: '2026-11-21T09:59:58.000Z' },
        { status: 'VALIDATED', at: '2026-11-21T09:59:59.000Z' },
      ],
      updatedAt: '2026-11-21T10:00:30.000Z',
    });

    // Assess
    expect(current).toEqual({ status: 'VALIDATED', at: '2026-11-21T09:59:59.000Z' });
  });

  it('falls back to the last write when the item has no history yet', () => {
    // Act & Assess
    expect(
      currentStatusOf('order-1', { status: 'PLACED', history: [], updatedAt: '2026-11-21T10:00:30.000Z' }),
    ).toEqual({
      status: 'PLACED',
      at: '2026-11-21T10:00:30.000Z',
    });
  });

  it('fails when the stored status is not one the protocol knows', () => {
    // Act & Assess
    expect(() => currentStatusOf('order-1', { status: 'SHIPPED', history: [] })).toThrow(
      'order order-1 has status SHIPPED in ORDER_STATUS',
    );
  });
});
