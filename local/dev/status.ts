/** Pure helpers of `npm run dev`'s status line. */

/** A cumulative counter read at one instant. */
export interface Sample {
  /** Epoch ms. */
  readonly at: number;
  readonly count: number;
}

/**
 * Rate of a cumulative counter between its oldest and newest sample, per second; 0 with fewer than two samples.
 *
 * @example
 * ratePerSecond([{ at: 0, count: 0 }, { at: 5_000, count: 50 }]); // 10
 */
export function ratePerSecond(samples: readonly Sample[]): number {
  const first = samples[0];
  const last = samples.at(-1);
  if (!first || !last || last.at <= first.at) return 0;
  return ((last.count - first.count) * 1000) / (last.at - first.at);
}
