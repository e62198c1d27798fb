/**
 * Long-running processes of the no-Docker backend: started detached with their output in a log file and their
 * pid in `local/.devstack/run/`, so `stack:down` (another process) can stop exactly what `stack:up` started.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { DEVSTACK_DIR, REPO_ROOT } from './config.js';

const run = promisify(execFile);

/** Folder with one `<name>.pid` per started process. */
export const RUN_DIR = path.join(DEVSTACK_DIR, 'run');
/** Folder with one `<name>.log` per started process. */
export const LOG_DIR = path.join(DEVSTACK_DIR, 'logs');

/** How to start one background process. */
export interface ProcessSpec {
  /** Service name: names the pid and log files. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** A string the process's command line contains, so a recycled pid is never mistaken for ours. */
  readonly marker: string;
}

/** Path of a service's log file. */
export function logFile(name: string): string {
  return path.join(LOG_DIR, `${name}.log`);
}

function pidFile(name: string): string {
  return path.join(RUN_DIR, `${name}.pid`);
}

/** The pid of a running process we started for `name`, or undefined when it is not running. */
export function runningPid(name: string, marker: string): number | undefined {
  const file = pidFile(name);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  try {
    // Linux: make sure the pid still belongs to our process and was not reused by another one.
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    if (!cmdline.includes(marker)) return undefined;
  } catch {
    // No /proc (macOS): trust the live pid.
  }
  return pid;
}

/** Starts `spec` detached (it outlives this CLI), appending its output to its log file; returns its pid. */
export function startProcess(spec: ProcessSpec): number {
  mkdirSync(RUN_DIR, { recursive: true });
  mkdirSync(LOG_DIR, { recursive: true });
  const out = openSync(logFile(spec.name), 'a');
  const child = spawn(spec.command, [...spec.args], {
    cwd: spec.cwd,
    env: spec.env ?? process.env,
    detached: true,
    stdio: ['ignore', out, out],
  });
  if (child.pid === undefined) throw new Error(`could not start ${spec.name} (${spec.command})`);
  child.unref();
  writeFileSync(pidFile(spec.name), `${child.pid}\n`);
  return child.pid;
}

/**
 * Starts `spec` unless the process we started for it still runs; refuses when something else holds `port`.
 * Logs where its output goes.
 */
export async function ensureStarted(spec: ProcessSpec, port: number, log: (message: string) => void): Promise<void> {
  if (runningPid(spec.name, spec.marker) !== undefined) return;
  if (await portOpen('127.0.0.1', port)) {
    throw new Error(
      `127.0.0.1:${port} is taken by a process stack:up did not start; stop it (or its stack) and run npm run stack:up again`,
    );
  }
  const pid = startProcess(spec);
  log(`started ${spec.name} (pid ${pid}, log ${path.relative(REPO_ROOT, logFile(spec.name))})`);
}

/** Stops the process we started for `name`: SIGTERM, then SIGKILL after `graceMs`. Returns whether one ran. */
export async function stopProcess(name: string, marker: string, graceMs = 15_000): Promise<boolean> {
  const pid = runningPid(name, marker);
  rmSync(pidFile(name), { force: true });
  if (pid === undefined) return false;
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await sleep(100);
  }
  signal(pid, 'SIGKILL');
  while (alive(pid)) await sleep(50);
  return true;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    // The process group first: it leads its own group (detached), so helpers it forked stop too.
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // Already gone.
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie (exited, not yet reaped by init) counts as gone.
    const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether something accepts TCP connections on `host:port`. */
export function portOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Polls `check` until it returns true or `timeoutMs` passes; throws naming `what` and the log to read. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  options: { timeoutMs: number; log?: string; intervalMs?: number },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(options.intervalMs ?? 250);
  }
  const hint = options.log ? `; see ${options.log}` : '';
  throw new Error(`${what} did not become ready within ${Math.round(options.timeoutMs / 1000)} s${hint}`);
}

/**
 * Runs a command to completion; rejects with its stderr when it fails. `inherit` shows its output on this
 * process's stderr as it runs (long downloads and builds), instead of capturing it.
 */
export async function runCommand(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; inherit?: boolean } = {},
): Promise<string> {
  if (options.inherit) return runInherited(command, args, options);
  try {
    const { stdout } = await run(command, [...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      timeout: options.timeoutMs ?? 0,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    const detail = (e.stderr || e.stdout || '').trim().split('\n').slice(-20).join('\n');
    throw new Error(`${command} ${args.join(' ')} failed: ${e.message.split('\n')[0]}${detail ? `\n${detail}` : ''}`, {
      cause: error,
    });
  }
}

function runInherited(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<string> {
  return new Promise((resolve, reject) => {
    // stdout too goes to our stderr: a tool's progress is not the CLI's output.
    const child = spawn(command, [...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', process.stderr, process.stderr],
    });
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGTERM'), options.timeoutMs) : undefined;
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${command} could not start: ${error.message}`, { cause: error }));
    });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      if (code === 0) resolve('');
      else reject(new Error(`${command} ${args.join(' ')} failed (${sig ?? `exit ${code}`}); its output is above`));
    });
  });
}

/** Whether `command` runs (e.g. `java -version`), i.e. it is installed and on PATH. */
export async function commandWorks(command: string, args: readonly string[]): Promise<boolean> {
  try {
    await run(command, [...args], { timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

/** Resident set size of a process and its descendants, in bytes (Linux `/proc`; 0 elsewhere). */
export function treeRssBytes(pid: number): number {
  let total = 0;
  const stack = [pid];
  const children = childrenByParent();
  while (stack.length > 0) {
    const current = stack.pop() as number;
    try {
      const status = readFileSync(`/proc/${current}/status`, 'utf8');
      const match = /VmRSS:\s+(\d+) kB/.exec(status);
      if (match?.[1]) total += Number(match[1]) * 1024;
    } catch {
      // Exited meanwhile.
    }
    stack.push(...(children.get(current) ?? []));
  }
  return total;
}

function childrenByParent(): Map<number, number[]> {
  const map = new Map<number, number[]>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return map;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      map.set(ppid, [...(map.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Exited meanwhile.
    }
  }
  return map;
}

/** A free TCP port on loopback (the OS picks it; it may be taken again before it is used). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Kills the process `stack:up` started for `name` (and its process group) with SIGKILL, as a crash would, and
 * waits until it is gone. The pid file stays: `stack:up` sees the pid dead and starts the service again. Returns
 * the pid killed, or undefined when none ran. For the fault suite (`npm run test:faults`).
 */
export async function killService(name: string): Promise<number | undefined> {
  const file = pidFile(name);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined;
  signal(pid, 'SIGKILL');
  while (alive(pid)) await sleep(20);
  return pid;
}
