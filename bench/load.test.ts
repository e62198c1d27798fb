import { describe, expect, it } from '@jest/globals';
import { CAPACITY_P99_MS, nextCapacityRate, parseLoadArgs, sustained } from './load.js';

/** Runs the search against a machine that sustains every rate up to `capacity`. */
function search(start: number, capacity: number, maxProbes = 10): { probes: number[]; found: number } {
  const tried = new Map<number, boolean>();
  const probes: number[] = [];
  for (let rate = nextCapacityRate(start, tried); rate !== undefined && probes.length < maxProbes; ) {
    probes.push(rate);
    tried.set(rate, rate <= capacity);
    rate = nextCapacityRate(start, tried);
  }
  const passed = [...tried].filter(([, ok]) => ok).map(([r]) => r);
  return { probes, found: passed.length > 0 ? Math.max(...passed) : 0 };
}

describe('nextCapacityRate', () => {
  it('grows by half until a rate fails, then bisects to within 10 % below the capacity', () => {
    // Act
    const { probes, found } = search(10, 23);

    // Assess
    expect(probes).toEqual([10, 15, 23, 35, 29, 26]);
    expect(found).toBe(23);
  });

  it('comes down from a start above the capacity', () => {
    // Act
    const { probes, found } = search(10, 6);

    // Assess
    expect(probes[0]).toBe(10);
    expect(found).toBe(6);
    expect(probes.length).toBeLessThanOrEqual(6);
  });

  it('ends when not even 1 order/s is sustained', () => {
    // Act
    const { found, probes } = search(10, 0);

    // Assess
    expect(found).toBe(0);
    expect(probes.at(-1)).toBe(1);
  });
});

describe('sustained', () => {
  const step = (over: { accepted?: number; final?: number; unfinished?: number; p99?: number }) => ({
    offered: 600,
    accepted: over.accepted ?? 600,
    audit: {
      final: over.final ?? 600,
      unfinishedCount: over.unfinished ?? 0,
      observedLatency: { p99: over.p99 ?? 4_000 },
    },
  });

  it('holds when every offered order was accepted and final within the p99 bound', () => {
    // Act + Assess
    expect(sustained(step({}))).toBe(true);
    expect(sustained(step({ p99: CAPACITY_P99_MS }))).toBe(true);
  });

  it('fails on a shed or unfinished order, or a p99 over the bound', () => {
    // Act + Assess
    expect(sustained(step({ accepted: 590 }))).toBe(false);
    expect(sustained(step({ final: 599, unfinished: 1 }))).toBe(false);
    expect(sustained(step({ p99: CAPACITY_P99_MS + 1 }))).toBe(false);
  });
});

describe('parseLoadArgs', () => {
  it('starts the capacity search at 10/s with a 60 s drain unless told otherwise', () => {
    // Act
    const search = parseLoadArgs(['--load', '--find-capacity']);
    const from = parseLoadArgs(['--find-capacity', '--rate', '16', '--max-probes', '4']);

    // Assess
    expect(search).toMatchObject({ findCapacity: true, rates: [10], drainSeconds: 60, maxProbes: 6 });
    expect(from).toMatchObject({ findCapacity: true, rates: [16], maxProbes: 4 });
    expect(parseLoadArgs(['--dev-dir', '/tmp/other-checkout']).devDir).toBe('/tmp/other-checkout');
    expect(parseLoadArgs([])).toMatchObject({ findCapacity: false });
  });
});
