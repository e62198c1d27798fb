/**
 * Local stand-ins for Lambda execution environments: each function runs in worker threads of its own, each
 * with its own module graph, environment, logger and SDK clients, one invocation at a time per worker, as in a
 * Lambda execution environment. A pool starts workers on demand up to its concurrency (Lambda scales out
 * environments the same way, up to the function's concurrency), keeps idle ones warm, queues invocations
 * beyond the limit, and replaces a worker that timed out or crashed. Workers also spread the functions' work
 * over every core, where one process would run it all on one.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { REPO_ROOT } from '../stack/config.js';
import { type AwsCallCounts, addCounts } from './aws-calls.js';

/** What a sandbox worker is started with. */
export interface SandboxWorkerData {
  readonly functionName: string;
  /** Absolute path of the module exporting `handler`. */
  readonly modulePath: string;
  /** Variables set in the worker's `process.env` before the handler module loads. */
  readonly env: Readonly<Record<string, string>>;
  /** Scheduling priority (nice value) of the worker's thread, set before the handler loads; Linux only. */
  readonly niceness?: number;
}

/** One invocation, sent to a worker. */
export interface SandboxRequest {
  readonly id: number;
  readonly requestId: string;
  readonly timeoutMs: number;
  readonly event: unknown;
}

/** A worker's answer to one invocation, with the AWS SDK calls it made since its last answer. */
export type SandboxReply = { readonly calls?: AwsCallCounts } & (
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: { name: string; message: string; stack?: string } }
);

/** Options of `startSandboxPool`. */
export interface SandboxPoolOptions {
  readonly functionName: string;
  /** @default - `functions/<functionName>/handler.ts` */
  readonly modulePath?: string;
  /** Function timeout; an invocation still running then fails and its worker is replaced, as Lambda does. */
  readonly timeoutMs: number;
  /** Most workers (concurrent invocations). @default 1 */
  readonly concurrency?: number;
  /** Environment of the function, on top of this process's. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Nice value (0 to 19) of the pool's threads: a higher value yields the CPU to the rest of the process and
   * machine when they contend for it. Applied on Linux, where a thread has a priority of its own; elsewhere
   * ignored. @default 0
   */
  readonly niceness?: number;
}

/** A function's pool of sandboxes. */
export interface SandboxPool {
  readonly functionName: string;
  /** Invokes the function with `event` in an idle sandbox, waiting for one when all are busy. */
  invoke<T = unknown>(event: unknown, options?: InvokeOptions): Promise<T>;
  /** Workers running now (busy or idle). */
  size(): number;
  /** AWS SDK calls the pool's sandboxes made so far, by `Service.Operation` (see aws-calls.ts). */
  calls(): AwsCallCounts;
  /** Terminates every worker; invocations still waiting fail. */
  stop(): Promise<void>;
}

/** Options of one invocation. */
export interface InvokeOptions {
  /**
   * Epoch ms after which the caller no longer waits (a synchronous caller's own timeout): the invocation is
   * dropped if it has not started by then, and otherwise runs with at most the time left.
   * @default - only the function timeout
   */
  readonly deadline?: number;
}

/** Raised when an invocation's caller stopped waiting before a sandbox was free; the function never ran. */
export class SandboxDeadlineError extends Error {
  constructor(functionName: string) {
    super(`${functionName}: no sandbox was free before the caller's deadline; the invocation did not run`);
    this.name = 'SandboxDeadlineError';
  }
}

/** Raised when an invocation runs past the function timeout; the message is Lambda's. */
export class SandboxTimeoutError extends Error {
  constructor(functionName: string, timeoutMs: number) {
    super(`${functionName}: Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`);
    this.name = 'SandboxTimeoutError';
  }
}

/** Raised by `invoke` for an error the handler threw (its name and message are kept) or a crashed sandbox. */
export class InvocationError extends Error {
  constructor(name: string, message: string, stack?: string) {
    super(message);
    this.name = name;
    if (stack) this.stack = stack;
  }
}

const ENTRY = path.join(REPO_ROOT, 'local', 'esm', 'sandbox-entry.mjs');
// 4 MiB: at 20 orders/s for 60 s the dev process peaked at 1,257 and 1,311 MiB with 4 against 1,401 and 1,386 with 8
// (two alternating pairs), at the same CPU per order (51-59 ms against 56-59 ms); p99 3.9-4.7 s against 4.1-7.5 s.
const YOUNG_GENERATION_MB = Number(process.env.ORDERFLOW_SANDBOX_YOUNG_MB ?? 4);

interface Sandbox {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  busy: boolean;
  current?: { id: number; resolve(value: unknown): void; reject(error: Error): void; timer: NodeJS.Timeout };
}

/**
 * Starts a pool with one warm sandbox, and resolves once it loaded the handler (so a config error of the
 * function fails the start, as a failed init fails a cold start).
 *
 * @example
 * const pool = await startSandboxPool({ functionName: 'validate-order', timeoutMs: 30_000, concurrency: 2 });
 * const response = await pool.invoke(mskEvent);
 */
export async function startSandboxPool(options: SandboxPoolOptions): Promise<SandboxPool> {
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const niceness = options.niceness ?? 0;
  if (!Number.isInteger(niceness) || niceness < 0 || niceness > 19) {
    throw new RangeError(`niceness must be an integer from 0 to 19, got ${niceness}`);
  }
  const data: SandboxWorkerData = {
    functionName: options.functionName,
    niceness,
    modulePath: options.modulePath ?? path.join(REPO_ROOT, 'functions', options.functionName, 'handler.ts'),
    env: {
      ...options.env,
      POWERTOOLS_SERVICE_NAME: options.functionName,
      AWS_LAMBDA_FUNCTION_NAME: options.functionName,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    },
  };
  const sandboxes: Sandbox[] = [];
  const waiting: {
    event: unknown;
    deadline?: number;
    resolve(value: unknown): void;
    reject(error: Error): void;
  }[] = [];
  let nextId = 1;
  let stopped = false;
  const calls: AwsCallCounts = {};

  const spawn = (): Sandbox => {
    const worker = new Worker(ENTRY, {
      workerData: data,
      execArgv: [],
      stdout: false,
      stderr: false,
      // A small young generation: many sandboxes share a laptop, and a function's garbage is short-lived.
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    let markReady: () => void = () => {};
    let failReady: (error: Error) => void = () => {};
    const sandbox: Sandbox = {
      worker,
      busy: false,
      ready: new Promise<void>((resolve, reject) => {
        markReady = resolve;
        failReady = reject;
      }),
    };
    sandbox.ready.catch(() => {});
    worker.on('message', (message: SandboxReply | { ready: boolean; error?: SandboxReply & { ok: false } }) => {
      if ('ready' in message) {
        if (message.ready) markReady();
        else {
          const e = (message as { error?: { name: string; message: string; stack?: string } }).error;
          failReady(
            new InvocationError(e?.name ?? 'Error', `${options.functionName} init failed: ${e?.message}`, e?.stack),
          );
        }
        return;
      }
      if (message.calls) addCounts(calls, message.calls);
      const current = sandbox.current;
      if (!current || current.id !== message.id) return;
      clearTimeout(current.timer);
      sandbox.current = undefined;
      sandbox.busy = false;
      if (message.ok) current.resolve(message.result);
      else current.reject(new InvocationError(message.error.name, message.error.message, message.error.stack));
      drain();
    });
    const gone = (error: Error) => {
      remove(sandbox);
      failReady(error);
      if (sandbox.current) {
        clearTimeout(sandbox.current.timer);
        sandbox.current.reject(error);
        sandbox.current = undefined;
      }
      drain();
    };
    worker.on('error', (error) =>
      gone(new InvocationError('Runtime.ExitError', `${options.functionName}: ${error.message}`)),
    );
    worker.on('exit', (code) =>
      gone(new InvocationError('Runtime.ExitError', `${options.functionName} exited (code ${code})`)),
    );
    sandboxes.push(sandbox);
    return sandbox;
  };

  const remove = (sandbox: Sandbox) => {
    const index = sandboxes.indexOf(sandbox);
    if (index >= 0) sandboxes.splice(index, 1);
  };

  const run = async (sandbox: Sandbox, job: (typeof waiting)[number]) => {
    sandbox.busy = true;
    try {
      await sandbox.ready;
    } catch (error) {
      sandbox.busy = false;
      job.reject(error as Error);
      return;
    }
    // An invocation whose caller stopped waiting never runs (its caller already answered for it); one that
    // starts late gets only the time its caller has left, so it cannot act after the caller gave up.
    const timeoutMs =
      job.deadline === undefined ? options.timeoutMs : Math.min(options.timeoutMs, job.deadline - Date.now());
    if (timeoutMs <= 0) {
      sandbox.busy = false;
      job.reject(new SandboxDeadlineError(options.functionName));
      drain();
      return;
    }
    const id = nextId++;
    const timer = setTimeout(() => {
      // Lambda ends the environment of a timed-out invocation; so do we, and start a fresh one when needed.
      sandbox.current = undefined;
      remove(sandbox);
      void sandbox.worker.terminate();
      job.reject(new SandboxTimeoutError(options.functionName, timeoutMs));
      drain();
    }, timeoutMs);
    sandbox.current = { id, resolve: job.resolve, reject: job.reject, timer };
    const request: SandboxRequest = { id, requestId: randomUUID(), timeoutMs, event: job.event };
    sandbox.worker.postMessage(request);
  };

  const drain = () => {
    while (!stopped && waiting.length > 0) {
      const idle = sandboxes.find((s) => !s.busy) ?? (sandboxes.length < concurrency ? spawn() : undefined);
      if (!idle) return;
      void run(idle, waiting.shift() as (typeof waiting)[number]);
    }
  };

  const first = spawn();
  await first.ready;

  return {
    functionName: options.functionName,
    invoke<T>(event: unknown, invocation: InvokeOptions = {}) {
      if (stopped) return Promise.reject(new Error(`${options.functionName}: the sandbox pool is stopped`));
      return new Promise<T>((resolve, reject) => {
        waiting.push({ event, deadline: invocation.deadline, resolve: resolve as (value: unknown) => void, reject });
        drain();
      });
    },
    size: () => sandboxes.length,
    calls: () => ({ ...calls }),
    async stop() {
      stopped = true;
      for (const job of waiting.splice(0)) job.reject(new Error(`${options.functionName}: stopping`));
      await Promise.all(sandboxes.splice(0).map((s) => s.worker.terminate()));
    },
  };
}
