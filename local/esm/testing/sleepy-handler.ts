/**
 * A handler for the sandbox tests: waits `event.ms`, then answers with its remaining time, a call count and the
 * nice value of the thread it ran on (Linux; undefined elsewhere).
 */
import { readlinkSync } from 'node:fs';
import { getPriority } from 'node:os';
import type { Context } from 'aws-lambda';

let calls = 0;

/** The nice value of this thread, where `/proc/thread-self` names it. */
function threadNiceness(): number | undefined {
  try {
    return getPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()));
  } catch {
    return undefined;
  }
}

/** Waits `ms`, then returns how often it ran in this sandbox, the time its context had left and its niceness. */
export const handler = async (event: { ms: number }, context: Context) => {
  calls += 1;
  await new Promise((resolve) => setTimeout(resolve, event.ms));
  return { calls, remainingMs: context.getRemainingTimeInMillis(), niceness: threadNiceness() };
};
