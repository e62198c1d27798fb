import { getPriority } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { REPO_ROOT } from '../stack/config.js';
import { SandboxDeadlineError, type SandboxPool, SandboxTimeoutError, startSandboxPool } from './sandbox.js';

const MODULE = path.join(REPO_ROOT, 'local', 'esm', 'testing', 'sleepy-handler.ts');
let pool: SandboxPool | undefined;

afterEach(async () => {
  await pool?.stop();
  pool = undefined;
});

describe('startSandboxPool', () => {
  it('never runs an invocation whose deadline passed while it waited for a sandbox', async () => {
    // Prepare
    pool = await startSandboxPool({ functionName: 'sleepy', modulePath: MODULE, timeoutMs: 5_000, concurrency: 1 });

    // Act
    const first = pool.invoke<{ calls: number }>({ ms: 400 });
    const late = pool.invoke({ ms: 0 }, { deadline: Date.now() + 100 });
    const after = pool.invoke<{ calls: number }>({ ms: 0 });

    // Assess
    await expect(late).rejects.toBeInstanceOf(SandboxDeadlineError);
    expect((await first).calls).toBe(1);
    expect((await after).calls).toBe(2);
  }, 30_000);

  it('gives an invocation that starts late only the time its caller has left', async () => {
    // Prepare
    pool = await startSandboxPool({ functionName: 'sleepy', modulePath: MODULE, timeoutMs: 10_000, concurrency: 1 });

    // Act
    const first = pool.invoke({ ms: 300 });
    const second = pool.invoke<{ remainingMs: number }>({ ms: 0 }, { deadline: Date.now() + 2_000 });
    await first;

    // Assess
    const { remainingMs } = await second;
    expect(remainingMs).toBeLessThanOrEqual(1_700);
    expect(remainingMs).toBeGreaterThan(0);
  }, 30_000);

  it('fails an invocation past the function timeout with Lambda message and replaces the sandbox', async () => {
    // Prepare
    pool = await startSandboxPool({ functionName: 'sleepy', modulePath: MODULE, timeoutMs: 200, concurrency: 1 });

    // Act
    const slow = pool.invoke({ ms: 2_000 });

    // Assess
    await expect(slow).rejects.toThrow(SandboxTimeoutError);
    await expect(slow).rejects.toThrow('Task timed out after 0.20 seconds');
    expect(await pool.invoke<{ calls: number }>({ ms: 0 })).toMatchObject({ calls: 1 });
  }, 30_000);

  it('runs its sandboxes at the niceness asked for, and leaves the rest of the process alone', async () => {
    // Prepare
    pool = await startSandboxPool({
      functionName: 'sleepy',
      modulePath: MODULE,
      timeoutMs: 5_000,
      concurrency: 2,
      niceness: 7,
    });

    // Act
    const answers = await Promise.all([
      pool.invoke<{ niceness?: number }>({ ms: 50 }),
      pool.invoke<{ niceness?: number }>({ ms: 50 }),
    ]);

    // Assess
    expect(pool.size()).toBe(2);
    if (process.platform === 'linux') expect(answers.map((a) => a.niceness)).toEqual([7, 7]);
    expect(getPriority()).toBe(0);
  }, 30_000);

  it('refuses a niceness outside 0 to 19', async () => {
    // Act
    const start = startSandboxPool({ functionName: 'sleepy', modulePath: MODULE, timeoutMs: 5_000, niceness: 20 });

    // Assess
    await expect(start).rejects.toThrow('niceness must be an integer from 0 to 19, got 20');
  });
});
