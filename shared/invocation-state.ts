/**
 * The state of the Kafka invocation being handled, in one `AsyncLocalStorage`: the output it queues for its one
 * produce (shared/invocation-outbox.ts) and the log keys of the record it is handling (shared/observability.ts).
 * One store for both, not one each: below Node 24 (whose stores ride on AsyncContextFrame) every store costs each
 * promise a propagation step, and the batch loop makes a dozen promises per record (async-hook work was 10 % of
 * validate-order's batch with two stores in a CPU profile of `npm run bench`). Per invocation, not per process:
 * Lambda Managed Instances run several invocations of a Node.js function at once in one process.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { LogAttributes } from '@aws-lambda-powertools/logger/types';
import type { Outbox } from './invocation-outbox.js';

/** What one invocation holds. */
export interface InvocationState {
  /** Output queued for the produce at the end of the batch (`withInvocationOutbox`). */
  outbox?: Outbox;
  /** Keys added to every log line while a record is handled (`setRecordLogKeys`). */
  recordLogKeys?: LogAttributes;
}

const states = new AsyncLocalStorage<InvocationState>();

/** The state of the invocation the caller runs in, if any. */
export function invocationState(): InvocationState | undefined {
  return states.getStore();
}

/**
 * Runs `fn` in a new invocation state: what an invocation's outermost scope (`withInvocationOutbox`) does, so an
 * invocation started from inside another's async context still gets its own.
 *
 * @example
 * await newInvocationState(async (state) => { state.outbox = outbox; await handle(); });
 */
export function newInvocationState<T>(fn: (state: InvocationState) => Promise<T>): Promise<T> {
  const state: InvocationState = {};
  return states.run(state, () => fn(state));
}

/**
 * Runs `fn` in the current invocation's state, or in a new one when there is none: inner scopes (the record log
 * keys inside the outbox) share the invocation's store instead of adding one.
 *
 * @example
 * await inInvocationState(async (state) => { state.recordLogKeys = { orderId }; await handle(); });
 */
export function inInvocationState<T>(fn: (state: InvocationState) => Promise<T>): Promise<T> {
  const current = states.getStore();
  return current ? fn(current) : newInvocationState(fn);
}
