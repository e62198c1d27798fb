/**
 * Inside one function sandbox (a worker thread): sets the function's environment, imports its
 * `functions/<name>/handler.ts` (its own module graph, so its own logger, config and SDK clients, as in a Lambda
 * execution environment) and runs one invocation at a time, as Lambda runs one per environment.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { countEveryClient } from './aws-calls.js';
import { lambdaContext } from './context.js';
import type { SandboxReply, SandboxRequest, SandboxWorkerData } from './sandbox.js';

const data = workerData as SandboxWorkerData;
Object.assign(process.env, data.env);
if (data.niceness) lowerThreadPriority(data.niceness);
// Before the handler loads, so every client it creates is counted; each reply carries the calls since the last.
const calls = countEveryClient();

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

async function load(): Promise<Handler> {
  const module = (await import(pathToFileURL(data.modulePath).href)) as { handler?: Handler };
  if (typeof module.handler !== 'function') throw new Error(`${data.modulePath} exports no handler`);
  return module.handler;
}

/**
 * Sets this thread's nice value. Linux schedules each thread on its own, and `setpriority` on a thread id
 * changes only that thread, which `/proc/thread-self` names; where it does not exist (macOS), nothing changes.
 */
function lowerThreadPriority(niceness: number): void {
  let threadId: number;
  try {
    threadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return;
  }
  setPriority(threadId, niceness);
}

function serialize(error: unknown): { name: string; message: string; stack?: string } {
  const e = error instanceof Error ? error : new Error(String(error));
  return { name: e.name, message: e.message, stack: e.stack };
}

const port = parentPort;
if (!port) throw new Error('sandbox-worker runs only as a worker thread');

load().then(
  (handler) => {
    port.on('message', async (request: SandboxRequest) => {
      const context = lambdaContext(data.functionName, request.timeoutMs, request.requestId);
      let reply: SandboxReply;
      try {
        reply = { id: request.id, ok: true, result: await handler(request.event, context), calls: calls.take() };
      } catch (error) {
        reply = { id: request.id, ok: false, error: serialize(error), calls: calls.take() };
      }
      port.postMessage(reply);
    });
    port.postMessage({ ready: true });
  },
  (error: unknown) => port.postMessage({ ready: false, error: serialize(error) }),
);
