/** A handler for the sandbox tests: waits `event.ms`, then answers with its remaining time and a call count. */
import type { Context } from 'aws-lambda';

let calls = 0;

/** Waits `ms`, then returns how often it ran in this sandbox and the time its context had left. */
export const handler = async (event: { ms: number }, context: Context) => {
  calls += 1;
  await new Promise((resolve) => setTimeout(resolve, event.ms));
  return { calls, remainingMs: context.getRemainingTimeInMillis() };
};
