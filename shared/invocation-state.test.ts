import { describe, expect, it } from '@jest/globals';
import { inInvocationState, invocationState, newInvocationState } from './invocation-state.js';

describe('invocation state', () => {
  it('is shared by inner scopes and kept apart between invocations', async () => {
    // Act
    const seen: [string, unknown][] = [];
    await Promise.all(
      ['a', 'b'].map((id) =>
        newInvocationState(async (outer) => {
          outer.outbox = { pending: [] };
          await inInvocationState(async (inner) => {
            inner.recordLogKeys = { orderId: id };
            await new Promise((resolve) => setTimeout(resolve, id === 'a' ? 5 : 0));
            seen.push([id, inner === outer]);
          });
          seen.push([id, invocationState()?.recordLogKeys]);
        }),
      ),
    );

    // Assess
    for (const id of ['a', 'b']) {
      expect(seen.filter(([who]) => who === id).map(([, what]) => what)).toEqual([true, { orderId: id }]);
    }
    expect(invocationState()).toBeUndefined();
  });

  it('gives an invocation started inside another its own state', async () => {
    // Act
    const states = await newInvocationState(async (outer) => {
      outer.outbox = { pending: [] };
      const inner = await newInvocationState(async (state) => state);
      return { outer, inner, after: invocationState() };
    });

    // Assess
    expect(states.inner).not.toBe(states.outer);
    expect(states.inner.outbox).toBeUndefined();
    expect(states.after).toBe(states.outer);
  });

  it('creates a state for an inner scope run outside any invocation', async () => {
    // Act
    const state = await inInvocationState(async (s) => s);

    // Assess
    expect(state).toEqual({});
    expect(invocationState()).toBeUndefined();
  });
});
