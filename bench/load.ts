/**
 * Load benchmark (`npm run bench -- --load [--rate N --duration S]`, needs `npm run stack:up`): starts `npm run dev`
 * as a process of its own (`npx tsx local/dev/dev.ts` on a free port), offers good orders to `POST /orders` open
 * loop at 50, 100, 200 and 400 orders/s for 60 s each (or one `--rate` for `--duration`), waits (bounded) for each
 * step's orders to finish, audits them (local/tools/audit.ts: statuses, latency, stock, charges, emails) and
 * samples every second the memory and CPU of each stack service and of the dev process. Before the steps, with
 * the pipeline idle, it measures the bare kafkajs produce → consume round trip at each step's rate on the same
 * broker: the ceiling. At the end it lets dev work off what is left and audits every order of the run, and the
 * orders placed by POSTs that were answered with an error, on the idle pipeline. Prints a markdown
 * table per step and the targets met or not, and writes the figures to `bench/results/load-<timestamp>.json`.
 *
 * How each figure is measured:
 * - offered: orders the pacer was due to send. Not sent: skipped because `--max-in-flight` POSTs were waiting for
 *   an answer (open loop: the pacer never waits for an answer before the next request), or shed while the
 *   pipeline held `--max-backlog` orders (`backlogGauge`): it is saturated, and piling on more would only leave a
 *   backlog in the shared consumer groups for whoever runs a pipeline next.
 * - accepted: 202 answers; rejected: any other HTTP answer; errored: no answer (socket error, or none in 35 s).
 * - POST → final: from just before the request is written to when a poll of the ORDER_STATUS rows (every 500 ms,
 *   BatchGetItem, status only, of orders not final yet) first sees the final status, i.e. when
 *   `GET /orders/{id}` would first have shown it. The history's `at` of the final transition is the occurredAt of
 *   an event stamped upstream (by reserve-inventory or process-payment), so it leaves out the last hop through
 *   order-status, where the backlog builds under load; "decided" reports that time (from the row's facts).
 * - throughput to final: final orders / (last seen final - first POST) of the step.
 * - stock, charges, emails: see local/tools/audit.ts. A step's own audit runs while later orders may still be in
 *   flight; the run audit at the end, on the idle pipeline, is the exact one the target is judged on.
 * - memory: RSS of each service's process tree (`/proc/<pid>/stat`), every second; peak over the step (offering
 *   and drain), end = at the last POST, growth = end vs the middle of the offering.
 * - CPU: utime + stime of each process tree over the step (offering and drain), as % of one core.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { applySeed, readSeed } from '../local/dev/seed.js';
import { currentBackend } from '../local/stack/backend.js';
import { REPO_ROOT } from '../local/stack/config.js';
import { requireRunningStack } from '../local/stack/preflight.js';
import { freePort } from '../local/stack/processes.js';
import {
  type AuditReport,
  collectEmails,
  type EmailCollector,
  type FinalStatusTracker,
  isFinalStatus,
  type LatencySummary,
  ordersByEmailPrefix,
  type PlacedOrder,
  readAndAudit,
  readStatuses,
  readStock,
  summarizeLatencies,
  trackFinalStatuses,
} from '../local/tools/audit.js';
import { localTableName, TABLES } from '../shared/tables.js';
import { CONSUMERS } from '../shared/topology.js';
import { measureKafkaRoundTrip } from './e2e.js';

/** What one run does. */
export interface LoadOptions {
  /** Offered rates, orders per second, one step each. */
  readonly rates: readonly number[];
  /** Seconds each rate is offered. */
  readonly durationSeconds: number;
  /** Most seconds to wait after a step's last POST for its orders to finish. */
  readonly drainSeconds: number;
  /** Most seconds to wait after the last step for the consumer groups to be idle, before the run's audit. */
  readonly finalDrainSeconds: number;
  /** Seconds of the bare Kafka round trip after each step (at the step's rate). */
  readonly bareSeconds: number;
  /** Most POSTs waiting for an answer; the pacer skips (and counts) an order due beyond it. */
  readonly maxInFlight: number;
  /**
   * Most orders in the pipeline (`backlogGauge`); while it holds that many, orders due are shed (counted, not
   * sent). Without it a saturated step would leave a backlog of tens of thousands of orders in the shared
   * consumer groups, which the next `npm run dev` or integration test would have to work off first.
   */
  readonly maxBacklog: number;
  /** Most seconds to wait, before the first step, for the consumer groups to work off an earlier backlog. */
  readonly idleSeconds: number;
  /**
   * Search for the highest rate sustained for `durationSeconds` with every order final and p99 ≤ 5 s
   * (`findCapacity`), starting at the first of `rates`, in at most `maxProbes` steps.
   */
  readonly findCapacity: boolean;
  readonly maxProbes: number;
  /**
   * The checkout whose `local/dev/dev.ts` is run as the dev process (`--dev-dir`): another commit's code against
   * the same stack and the same bench, for side-by-side figures. @default - this repository
   */
  readonly devDir: string;
}

/** The default ladder: 50, 100, 200 and 400 orders/s for 60 s each. */
export const DEFAULT_LOAD_OPTIONS: LoadOptions = {
  rates: [50, 100, 200, 400],
  durationSeconds: 60,
  drainSeconds: 120,
  finalDrainSeconds: 600,
  bareSeconds: 15,
  maxInFlight: 2_000,
  maxBacklog: 3_000,
  idleSeconds: 600,
  findCapacity: false,
  maxProbes: 6,
  devDir: REPO_ROOT,
};

/**
 * Parses `--rate N --duration S --drain S --final-drain S --bare-seconds S --max-in-flight N --max-backlog N
 * --idle-seconds S --find-capacity --max-probes N --dev-dir PATH` (other flags are ignored). With `--find-capacity`, `--rate` is
 * the first rate tried (default 10) and the drain defaults to 60 s.
 */
export function parseLoadArgs(argv: readonly string[]): LoadOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: false,
    options: {
      rate: { type: 'string' },
      duration: { type: 'string' },
      drain: { type: 'string' },
      'final-drain': { type: 'string' },
      'bare-seconds': { type: 'string' },
      'max-in-flight': { type: 'string' },
      'idle-seconds': { type: 'string' },
      'max-backlog': { type: 'string' },
      'find-capacity': { type: 'boolean' },
      'max-probes': { type: 'string' },
      'dev-dir': { type: 'string' },
    },
  });
  const number = (name: string, raw: unknown, fallback: number, min: number, max: number): number => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!(Number.isFinite(value) && value >= min && value <= max)) {
      throw new Error(`--${name} must be a number from ${min} to ${max}, got '${String(raw)}'`);
    }
    return value;
  };
  const d = DEFAULT_LOAD_OPTIONS;
  const findCapacity = values['find-capacity'] === true;
  const defaultRates = findCapacity ? [10] : d.rates;
  return {
    rates: values.rate === undefined ? defaultRates : [number('rate', values.rate, 0, 1, 5_000)],
    durationSeconds: number('duration', values.duration, d.durationSeconds, 1, 3_600),
    drainSeconds: number('drain', values.drain, findCapacity ? 60 : d.drainSeconds, 1, 3_600),
    finalDrainSeconds: number('final-drain', values['final-drain'], d.finalDrainSeconds, 0, 3_600),
    bareSeconds: number('bare-seconds', values['bare-seconds'], d.bareSeconds, 0, 600),
    maxInFlight: number('max-in-flight', values['max-in-flight'], d.maxInFlight, 1, 100_000),
    maxBacklog: number('max-backlog', values['max-backlog'], d.maxBacklog, 1, 1_000_000),
    idleSeconds: number('idle-seconds', values['idle-seconds'], d.idleSeconds, 0, 3_600),
    findCapacity,
    maxProbes: number('max-probes', values['max-probes'], d.maxProbes, 1, 50),
    devDir: typeof values['dev-dir'] === 'string' ? path.resolve(values['dev-dir']) : d.devDir,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Capacity search.

/** The latency bound a sustained rate must meet: p99 POST → final. */
export const CAPACITY_P99_MS = 5_000;

/** Whether a step sustained its rate: every offered order accepted (202) and final, p99 within the bound. */
export function sustained(step: {
  readonly offered: number;
  readonly accepted: number;
  readonly audit: {
    readonly final: number;
    readonly unfinishedCount: number;
    readonly observedLatency?: { readonly p99: number };
  };
}): boolean {
  const p99 = step.audit.observedLatency?.p99 ?? Number.POSITIVE_INFINITY;
  return (
    step.accepted === step.offered &&
    step.audit.final === step.offered &&
    step.audit.unfinishedCount === 0 &&
    p99 <= CAPACITY_P99_MS
  );
}

/**
 * The next rate of the capacity search after `tried` (rate → sustained), or undefined when done: grows by half
 * from the start until a rate fails, then bisects between the highest rate sustained and the lowest failed, to
 * within 1 order/s or 10 %, whichever is wider.
 */
export function nextCapacityRate(start: number, tried: ReadonlyMap<number, boolean>): number | undefined {
  if (tried.size === 0) return start;
  const passed = [...tried].filter(([, ok]) => ok).map(([rate]) => rate);
  const failed = [...tried].filter(([, ok]) => !ok).map(([rate]) => rate);
  const low = passed.length > 0 ? Math.max(...passed) : 0;
  if (failed.length === 0) return Math.round(low * 1.5);
  const high = Math.min(...failed);
  if (high <= low) return undefined;
  if (low === 0 && high <= 1) return undefined;
  const next = Math.round((low + high) / 2);
  if (high - low <= Math.max(1, Math.ceil(low * 0.1)) || next === low || next === high) return undefined;
  return tried.has(next) ? undefined : next;
}

// ---------------------------------------------------------------------------------------------------------------
// Process sampling (Linux /proc).

const CLK_TCK = getconf('CLK_TCK', 100);
const PAGE_SIZE = getconf('PAGESIZE', 4096);
const MIB = 1024 * 1024;

function getconf(name: string, fallback: number): number {
  try {
    const value = Number(execFileSync('getconf', [name], { encoding: 'utf8' }).trim());
    return Number.isFinite(value) && value > 0 ? value : fallback;
  } catch {
    return fallback;
  }
}

interface ProcStat {
  readonly ppid: number;
  /** utime + stime, clock ticks. */
  readonly ticks: number;
  readonly rssBytes: number;
}

function scanProc(): Map<number, ProcStat> {
  const stats = new Map<number, ProcStat>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return stats;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const raw = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command (which may hold spaces), starting at field 3 (state).
      const fields = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(entry), {
        ppid: Number(fields[1]),
        ticks: Number(fields[11]) + Number(fields[12]),
        rssBytes: Number(fields[21]) * PAGE_SIZE,
      });
    } catch {
      // Exited meanwhile.
    }
  }
  return stats;
}

/** RSS and CPU ticks of `root` and its descendants. */
function treeOf(root: number, stats: Map<number, ProcStat>): { rssBytes: number; ticks: number } | undefined {
  if (!stats.has(root)) return undefined;
  const children = new Map<number, number[]>();
  for (const [pid, s] of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  let rssBytes = 0;
  let ticks = 0;
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    const s = stats.get(pid);
    if (s) {
      rssBytes += s.rssBytes;
      ticks += s.ticks;
    }
    stack.push(...(children.get(pid) ?? []));
  }
  return { rssBytes, ticks };
}

/** One second's reading of every watched process. */
interface Sample {
  readonly at: number;
  readonly processes: Readonly<Record<string, { pid?: number; rssBytes: number; ticks?: number }>>;
}

/** Samples the stack's services (pids re-read every 5 s: a broker restart changes its pid), dev and the bench. */
function startSampler(devPid: () => number | undefined): { samples: Sample[]; stop(): void } {
  const samples: Sample[] = [];
  let services: { service: string; pid?: number; rssBytes: number }[] = [];
  let refreshedAt = 0;
  let refreshing = false;
  const refresh = async () => {
    if (refreshing) return;
    refreshing = true;
    try {
      services = (await currentBackend()?.processes()) ?? [];
      refreshedAt = Date.now();
    } catch {
      // Keep the previous list.
    } finally {
      refreshing = false;
    }
  };
  void refresh();
  const timer = setInterval(() => {
    if (Date.now() - refreshedAt > 5_000) void refresh();
    const stats = scanProc();
    const processes: Record<string, { pid?: number; rssBytes: number; ticks?: number }> = {};
    const watched = [
      ...services,
      { service: 'dev', pid: devPid(), rssBytes: 0 },
      { service: 'bench', pid: process.pid, rssBytes: 0 },
    ];
    for (const s of watched) {
      // The bench's own process only: its tree holds the dev process, which is counted on its own.
      const self = s.service === 'bench' ? stats.get(process.pid) : undefined;
      const tree = self ?? (s.pid === undefined ? undefined : treeOf(s.pid, stats));
      // Containers (Docker backend) have no host pid: their memory as `docker stats` reported it, no CPU.
      processes[s.service] = tree
        ? { pid: s.pid, rssBytes: tree.rssBytes, ticks: tree.ticks }
        : { rssBytes: s.rssBytes };
    }
    samples.push({ at: Date.now(), processes });
  }, 1_000);
  return { samples, stop: () => clearInterval(timer) };
}

/** Memory and CPU of one process over a step. */
interface ProcessFigures {
  readonly peakMiB: number;
  readonly endMiB: number;
  readonly midMiB: number;
  /** (end - mid) / mid, percent. */
  readonly growthPercent: number;
  /** Percent of one core over the step; undefined without a host pid. */
  readonly cpuPercent?: number;
  /** CPU seconds over the step; undefined without a host pid. */
  readonly cpuSeconds?: number;
}

/** Names of the processes whose memory counts towards the 2 GiB target (the bench itself does not). */
const COUNTED = (name: string) => name !== 'bench';

function figuresOf(samples: readonly Sample[], from: number, mid: number, end: number, to: number) {
  const window = samples.filter((s) => s.at >= from && s.at <= to);
  const nearest = (t: number) =>
    window.reduce<Sample | undefined>(
      (best, s) => (best === undefined || Math.abs(s.at - t) < Math.abs(best.at - t) ? s : best),
      undefined,
    );
  const midSample = nearest(mid);
  const endSample = nearest(end);
  const names = [...new Set(window.flatMap((s) => Object.keys(s.processes)))];
  const perProcess: Record<string, ProcessFigures> = {};
  for (const name of names) {
    const rss = (s: Sample | undefined) => (s?.processes[name]?.rssBytes ?? 0) / MIB;
    let ticks = 0;
    let pidless = true;
    for (let i = 1; i < window.length; i += 1) {
      const a = window[i - 1]?.processes[name];
      const b = window[i]?.processes[name];
      // A new pid (a restarted broker) starts its own count: that interval is skipped.
      if (a?.ticks === undefined || b?.ticks === undefined || a.pid !== b.pid) continue;
      pidless = false;
      ticks += Math.max(0, b.ticks - a.ticks);
    }
    const seconds = ((window.at(-1)?.at ?? to) - (window[0]?.at ?? from)) / 1000;
    const midMiB = rss(midSample);
    const endMiB = rss(endSample);
    perProcess[name] = {
      peakMiB: Math.max(0, ...window.map(rss)),
      endMiB,
      midMiB,
      growthPercent: midMiB > 0 ? ((endMiB - midMiB) / midMiB) * 100 : 0,
      ...(pidless || seconds <= 0
        ? {}
        : { cpuPercent: (ticks / CLK_TCK / seconds) * 100, cpuSeconds: ticks / CLK_TCK }),
    };
  }
  const total = (s: Sample | undefined) =>
    Object.entries(s?.processes ?? {})
      .filter(([name]) => COUNTED(name))
      .reduce((sum, [, p]) => sum + p.rssBytes, 0) / MIB;
  const totalMid = total(midSample);
  const totalEnd = total(endSample);
  return {
    perProcess,
    total: {
      peakMiB: Math.max(0, ...window.map(total)),
      endMiB: totalEnd,
      midMiB: totalMid,
      growthPercent: totalMid > 0 ? ((totalEnd - totalMid) / totalMid) * 100 : 0,
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Consumer-group backlog.

/** A consumer group's records not yet committed, and how many members it has. */
interface GroupState {
  readonly lag: number;
  readonly members: number;
}

/** The state of each consumer group of the topology, by function. */
async function groupLag(admin: Admin): Promise<Record<string, GroupState>> {
  const highs = new Map<string, Map<number, { high: number; low: number }>>();
  const result: Record<string, GroupState> = {};
  for (const spec of CONSUMERS) {
    let lag = 0;
    for (const { topic, partitions } of await admin.fetchOffsets({ groupId: spec.groupId, topics: [...spec.topics] })) {
      if (!highs.has(topic)) {
        highs.set(
          topic,
          new Map(
            (await admin.fetchTopicOffsets(topic)).map((p) => [
              p.partition,
              { high: Number(p.high), low: Number(p.low) },
            ]),
          ),
        );
      }
      for (const p of partitions) {
        const end = highs.get(topic)?.get(p.partition);
        if (!end) continue;
        const committed = Number(p.offset);
        lag += end.high - (committed >= 0 ? committed : end.low);
      }
    }
    const { groups } = await admin.describeGroups([spec.groupId]);
    result[spec.function] = { lag, members: groups[0]?.members.length ?? 0 };
  }
  return result;
}

/**
 * Waits until no consumer group has a backlog (records left by earlier runs would be processed before this
 * run's orders, and counted in its latencies), up to `timeoutMs`. Returns the backlog it last saw.
 */
async function waitForIdle(admin: Admin, timeoutMs: number): Promise<Record<string, GroupState>> {
  const deadline = Date.now() + timeoutMs;
  let lastPrint = 0;
  for (;;) {
    const lag = await groupLag(admin);
    const busy = Object.entries(lag).filter(([, g]) => g.lag > 0);
    const gone = Object.entries(lag).filter(([, g]) => g.members === 0);
    if (busy.length === 0 || Date.now() > deadline) return lag;
    if (Date.now() - lastPrint > 10_000) {
      lastPrint = Date.now();
      process.stderr.write(
        `  waiting for the consumer groups' backlog: ${busy.map(([f, g]) => `${f} ${g.lag}`).join(', ')}${gone.length > 0 ? `; groups without a member: ${gone.map(([f]) => f).join(', ')}` : ''}\n`,
      );
    }
    await sleep(2_000);
  }
}

/**
 * An estimate of the orders in the pipeline, refreshed every 2 s: the larger of the run's accepted orders not seen
 * final yet and order-status's lag / 4 (it reads four records per confirmed order). The lag also counts orders
 * whose POST was answered with an error but which order-api produced anyway, and anyone else's.
 */
function backlogGauge(admin: Admin, tracker: FinalStatusTracker): { read(): number; stop(): void } {
  const spec = CONSUMERS.find((c) => c.function === 'order-status');
  let lagOrders = 0;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy || !spec) return;
    busy = true;
    try {
      let lag = 0;
      for (const { topic, partitions } of await admin.fetchOffsets({
        groupId: spec.groupId,
        topics: [...spec.topics],
      })) {
        const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p]));
        for (const p of partitions) {
          const end = ends.get(p.partition);
          if (end) lag += Number(end.high) - (Number(p.offset) >= 0 ? Number(p.offset) : Number(end.low));
        }
      }
      lagOrders = Math.ceil(lag / 4);
    } catch {
      // Keep the last reading.
    } finally {
      busy = false;
    }
  }, 2_000);
  return { read: () => Math.max(tracker.pending(), lagOrders), stop: () => clearInterval(timer) };
}

// ---------------------------------------------------------------------------------------------------------------
// The dev process and the HTTP client.

interface DevProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly logPath: string;
  stop(): Promise<void>;
}

/** Starts `npm run dev`'s process (`npx tsx local/dev/dev.ts`) in its own process group and waits for /healthz. */
async function startDev(logPath: string, devDir: string): Promise<DevProcess> {
  const port = await freePort();
  const log = openSync(logPath, 'a');
  const child = spawn('npx', ['tsx', 'local/dev/dev.ts'], {
    cwd: devDir,
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', log, log],
    // Its own group, so SIGTERM reaches npx, tsx and the node process running dev.ts alike.
    detached: true,
  });
  closeSync(log);
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = signal ?? `exit ${code}`;
  });
  const tail = () => readFileSync(logPath, 'utf8').split('\n').slice(-20).join('\n');
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (exited) throw new Error(`npm run dev exited (${exited}) before it served /healthz:\n${tail()}`);
    if (Date.now() > deadline) {
      signalGroup(child, 'SIGKILL');
      throw new Error(`npm run dev did not serve /healthz within 180 s:\n${tail()}`);
    }
    const healthy = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1_000) })
      .then((r) => r.ok)
      .catch(() => false);
    if (healthy) break;
    await sleep(500);
  }
  return {
    child,
    port,
    logPath,
    async stop() {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      signalGroup(child, 'SIGTERM');
      const timedOut = await Promise.race([gone.then(() => false), sleep(30_000).then(() => true)]);
      if (timedOut) {
        signalGroup(child, 'SIGKILL');
        await gone;
      }
    },
  };
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

type PostOutcome = { readonly status: number; readonly body: string } | { readonly error: string };

/**
 * POSTs `body` to /orders. A request written to a kept-alive socket the server was closing meanwhile fails with
 * ECONNRESET before the server read it; it is sent once more on a new socket, as Node's docs advise
 * (`request.reusedSocket`), so the race is not counted as an error of the API.
 */
async function postJson(agent: http.Agent, port: number, body: string, timeoutMs: number): Promise<PostOutcome> {
  const first = await postOnce(agent, port, body, timeoutMs);
  if (!('retry' in first)) return first;
  const second = await postOnce(agent, port, body, timeoutMs);
  return 'retry' in second ? { error: 'read ECONNRESET (twice, on reused sockets)' } : second;
}

function postOnce(
  agent: http.Agent,
  port: number,
  body: string,
  timeoutMs: number,
): Promise<PostOutcome | { readonly retry: true }> {
  return new Promise((resolve) => {
    let answered = false;
    const request = http.request(
      {
        agent,
        host: '127.0.0.1',
        port,
        path: '/orders',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: timeoutMs,
      },
      (response) => {
        answered = true;
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', (error) => resolve({ error: error.message }));
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (!answered && request.reusedSocket && error.code === 'ECONNRESET') resolve({ retry: true });
      else resolve({ error: error.message });
    });
    request.end(body);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// One step.

const CURRENCIES = ['EUR', 'USD', 'GBP'] as const;
const POST_TIMEOUT_MS = 35_000;

interface StepResult {
  readonly rate: number;
  readonly durationSeconds: number;
  readonly offered: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly errored: number;
  /** Orders due while `maxInFlight` POSTs waited for an answer, plus `shed`. */
  readonly notSent: number;
  /** Orders due while `maxBacklog` accepted orders were not final: the pipeline was saturated. */
  readonly shed: number;
  /** HTTP answers (and errors) by status code or error message. */
  readonly answers: Record<string, number>;
  /** Seconds the offering actually took (the pacer's lateness shows here). */
  readonly offeringSeconds: number;
  /** Seconds from the last POST until every order was seen final (or the drain bound). */
  readonly drainSeconds: number;
  readonly audit: Omit<AuditReport, 'unfinished'> & { readonly unfinishedCount: number; unfinishedSample: string[] };
  readonly bare?: LatencySummary & { readonly sent: number };
  readonly memory: ReturnType<typeof figuresOf>;
  /** Backlog and members of each consumer group at the start of the step and after its drain. */
  readonly groups: { readonly atStart: Record<string, GroupState>; readonly atEnd: Record<string, GroupState> };
  readonly topCpu?: { readonly process: string; readonly cpuPercent: number };
  /** `POST /orders` answered 503 by dev's admission gate (its backlog bound, ORDERFLOW_MAX_BACKLOG). */
  readonly shedByDev: number;
  /** AWS SDK calls over the step per confirmed order, by function and in all (dev's counters), if dev served them. */
  readonly calls?: { readonly perFunction: Record<string, number>; readonly total: number; readonly confirmed: number };
  /** CPU milliseconds per final order over the step, by process. */
  readonly cpuMsPerOrder: Record<string, number>;
}

/** A POST that got no 202; `email` is unique to it, so the order it may have placed anyway can be found. */
interface FailedPost {
  readonly email: string;
  readonly placedAt: number;
  readonly items: PlacedOrder['items'];
}

async function runStep(
  rate: number,
  options: LoadOptions,
  context: {
    readonly admin: Admin;
    readonly doc: DynamoDBDocumentClient;
    readonly port: number;
    readonly skus: readonly string[];
    readonly emails: EmailCollector;
    readonly samples: readonly Sample[];
    readonly brokers: readonly string[];
    readonly run: string;
    readonly audit: boolean;
    /** Tracks every order of the run. */
    readonly tracker: FinalStatusTracker;
    /** Orders in the pipeline now, whoever placed them (see `backlogGauge`). */
    readonly backlog: () => number;
    /** The bare Kafka round trip at this step's rate, measured on the idle pipeline. */
    readonly bare?: StepResult['bare'];
  },
): Promise<{ result: StepResult; placed: PlacedOrder[]; failed: FailedPost[] }> {
  const { doc, port, skus, emails, tracker } = context;
  const total = Math.round(rate * options.durationSeconds);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const stockBefore = await readStock(doc, skus);
  const groupsAtStart = await groupLag(context.admin);
  const pipelineAtStart = await readPipeline(port);
  const placed: PlacedOrder[] = [];
  /** POSTs answered with anything but 202 (or not at all), by the recipient address unique to each. */
  const failed: FailedPost[] = [];
  const answers: Record<string, number> = {};
  let inFlight = 0;
  let notSent = 0;
  let shed = 0;
  let sent = 0;
  const requests: Promise<void>[] = [];
  const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)] as T;

  const send = (i: number) => {
    const first = pick(skus);
    const second = pick(skus.filter((s) => s !== first));
    const items = [
      { sku: first, quantity: 1 + Math.floor(Math.random() * 3) },
      ...(Math.random() < 0.5 ? [{ sku: second, quantity: 1 + Math.floor(Math.random() * 3) }] : []),
    ];
    const email = `load+${context.run}-${rate}-${i}@example.com`;
    const body = JSON.stringify({
      customerId: `load-${i % 1000}`,
      email,
      currency: pick(CURRENCIES),
      items,
      paymentToken: 'tok_visa',
    });
    inFlight += 1;
    const placedAt = Date.now();
    requests.push(
      postJson(agent, port, body, POST_TIMEOUT_MS).then((outcome) => {
        inFlight -= 1;
        const key = 'status' in outcome ? String(outcome.status) : `error: ${outcome.error}`;
        answers[key] = (answers[key] ?? 0) + 1;
        if ('status' in outcome && outcome.status === 202) {
          const { orderId } = JSON.parse(outcome.body) as { orderId: string };
          placed.push({ orderId, placedAt, items });
          tracker.add([orderId]);
        } else {
          failed.push({ email, placedAt, items });
        }
      }),
    );
  };

  const started = Date.now();
  let lastReport = started;
  let offered = 0;
  while (offered < total) {
    const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * rate) + 1);
    for (; offered < due; offered += 1) {
      if (inFlight >= options.maxInFlight) notSent += 1;
      else if (context.backlog() >= options.maxBacklog) {
        notSent += 1;
        shed += 1;
      } else {
        send(offered);
        sent += 1;
      }
    }
    if (Date.now() - lastReport >= 5_000) {
      lastReport = Date.now();
      process.stderr.write(
        `  ${rate}/s t+${Math.round((lastReport - started) / 1000)}s: sent ${sent}, in flight ${inFlight}, accepted ${placed.length}, final ${tracker.observedAt.size}, not sent ${notSent} (${shed} shed), backlog ~${context.backlog()} orders\n`,
      );
    }
    await sleep(5);
  }
  const lastPostAt = Date.now();
  const offeringSeconds = (lastPostAt - started) / 1000;
  await Promise.all(requests);
  agent.destroy();
  const drainDeadline = lastPostAt + options.drainSeconds * 1000;
  const notFinal = () => placed.filter((o) => !tracker.observedAt.has(o.orderId)).length;
  while (notFinal() > 0 && Date.now() < drainDeadline) {
    await sleep(5_000);
    if (notFinal() > 0) {
      process.stderr.write(
        `  ${rate}/s drain t+${Math.round((Date.now() - lastPostAt) / 1000)}s: ${notFinal()} of ${placed.length} not final yet (${tracker.pending()} in the run)\n`,
      );
    }
  }
  const drainedAt = Date.now();
  const groupsAtEnd = await groupLag(context.admin);
  const gone = Object.entries(groupsAtEnd).filter(([, g]) => g.members === 0);
  if (gone.length > 0) {
    process.stderr.write(
      `  warning: consumer group(s) without a member after the step (a consumer of dev stopped?): ${gone.map(([f, g]) => `${f} (backlog ${g.lag})`).join(', ')}\n`,
    );
  }
  const shared = Object.entries(groupsAtEnd).filter(([, g]) => g.members > 1);
  if (shared.length > 0) {
    process.stderr.write(
      `  warning: another pipeline consumes in the same groups (figures are not dev's alone): ${shared.map(([f, g]) => `${f} (${g.members} members)`).join(', ')}\n`,
    );
  }

  // Emails follow the final status through the bus and the rule's queue: wait for them (≤ 60 s), then read all;
  // an order still without its email then counts as lost.
  const ids = new Set(placed.map((o) => o.orderId));
  const finalCount = placed.length - notFinal();
  const emailDeadline = Date.now() + 60_000;
  await emails.refresh().catch(() => undefined);
  while (emails.countFor(ids) < finalCount && Date.now() < emailDeadline) {
    await sleep(2_000);
    await emails.refresh().catch(() => undefined);
  }
  const pipelineAtEnd = await readPipeline(port);
  const { report } = await readAndAudit(doc, {
    orders: placed,
    skus,
    stockBefore,
    emails: emails.emails(),
    observedFinalAt: tracker.observedAt,
  });
  const memory = figuresOf(context.samples, started, started + (lastPostAt - started) / 2, lastPostAt, drainedAt);
  const top = Object.entries(memory.perProcess)
    .filter(([, p]) => p.cpuPercent !== undefined)
    .sort((a, b) => (b[1].cpuPercent ?? 0) - (a[1].cpuPercent ?? 0))[0];

  const accepted = placed.length;
  const rejected = Object.entries(answers)
    .filter(([k]) => /^\d+$/.test(k) && k !== '202')
    .reduce((n, [, v]) => n + v, 0);
  const errored = Object.entries(answers)
    .filter(([k]) => k.startsWith('error'))
    .reduce((n, [, v]) => n + v, 0);
  const result: StepResult = {
    rate,
    durationSeconds: options.durationSeconds,
    offered: total,
    accepted,
    rejected,
    errored,
    notSent,
    shed,
    answers,
    offeringSeconds,
    drainSeconds: (drainedAt - lastPostAt) / 1000,
    audit: auditSummary(report),
    ...(context.bare ? { bare: context.bare } : {}),
    memory,
    groups: { atStart: groupsAtStart, atEnd: groupsAtEnd },
    ...(top ? { topCpu: { process: top[0], cpuPercent: top[1].cpuPercent ?? 0 } } : {}),
    shedByDev: answers['503'] ?? 0,
    ...(pipelineAtStart && pipelineAtEnd
      ? { calls: callsPerOrder(pipelineAtStart, pipelineAtEnd, report.byStatus.CONFIRMED) }
      : {}),
    cpuMsPerOrder: Object.fromEntries(
      Object.entries(memory.perProcess)
        .filter(([, p]) => p.cpuSeconds !== undefined && report.final > 0)
        .map(([name, p]) => [name, ((p.cpuSeconds ?? 0) * 1000) / report.final]),
    ),
  };
  return { result, placed, failed };
}

/** What dev's `GET /_dashboard/pipeline` serves: its admission gate and AWS calls (local/dev/dashboard/data.ts). */
interface PipelineReading {
  readonly shed: number;
  readonly awsCalls: Record<string, Record<string, number>>;
}

/** Dev's admission gate and call counters, or undefined when it does not answer. */
async function readPipeline(port: number): Promise<PipelineReading | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/_dashboard/pipeline`, {
      signal: AbortSignal.timeout(5_000),
    });
    return response.ok ? ((await response.json()) as PipelineReading) : undefined;
  } catch {
    return undefined;
  }
}

/** Calls between two readings per confirmed order, by function (each function's calls summed over operations). */
function callsPerOrder(
  before: PipelineReading,
  after: PipelineReading,
  confirmed: number,
): NonNullable<StepResult['calls']> {
  const sum = (calls: Record<string, number> | undefined) => Object.values(calls ?? {}).reduce((n, c) => n + c, 0);
  const perFunction: Record<string, number> = {};
  for (const fn of Object.keys(after.awsCalls)) {
    const made = sum(after.awsCalls[fn]) - sum(before.awsCalls[fn]);
    if (made > 0) perFunction[fn] = confirmed > 0 ? made / confirmed : made;
  }
  const total = Object.values(perFunction).reduce((n, c) => n + c, 0);
  return { perFunction, total, confirmed };
}

/** Summary of an audit for the JSON results (without the long lists). */
function auditSummary(report: AuditReport): StepResult['audit'] {
  const { unfinished, ...rest } = report;
  return { ...rest, unfinishedCount: unfinished.length, unfinishedSample: unfinished.slice(0, 20) };
}

/** The run's audit, and the orders placed although their POST was answered with an error. */
interface RunAudit {
  readonly report: AuditReport;
  /** POSTs answered with an error (or not at all) over the run. */
  readonly failedPosts: number;
  /** Of those, the ones whose order exists all the same (order-api produced it after the answer was given up). */
  readonly placedAnyway: number;
  readonly placedAnywaySample: readonly string[];
}

/**
 * The audit of every order of the run once the pipeline is idle again (or `finalDrainSeconds` passed): the exact
 * check of stock, charges and emails, which a step's own audit cannot be while orders are still in flight (a
 * marker read just after the stock was read, an email on its way). Orders placed by POSTs that were answered
 * with an error are found by their address and audited too: their stock, charge and email are real.
 */
async function auditRun(
  doc: DynamoDBDocumentClient,
  run: string,
  accepted: readonly PlacedOrder[],
  failed: readonly FailedPost[],
  skus: readonly string[],
  stockBefore: ReadonlyMap<string, number>,
  emails: EmailCollector,
  tracker: FinalStatusTracker,
): Promise<RunAudit> {
  const byEmail = await ordersByEmailPrefix(doc, `load+${run}-`);
  const ghosts = failed.flatMap((f) => {
    const orderId = byEmail.get(f.email);
    return orderId === undefined ? [] : [{ orderId, placedAt: f.placedAt, items: f.items }];
  });
  const orders = [...accepted, ...ghosts];
  const ids = orders.map((o) => o.orderId);
  const statusesNow = await readStatuses(doc, ids);
  const finalIds = new Set(ids.filter((id) => isFinalStatus(statusesNow.get(id)?.status)));
  const emailDeadline = Date.now() + 60_000;
  await emails.refresh().catch(() => undefined);
  while (emails.countFor(finalIds) < finalIds.size && Date.now() < emailDeadline) {
    await sleep(2_000);
    await emails.refresh().catch(() => undefined);
  }
  const { report } = await readAndAudit(doc, {
    orders,
    skus,
    stockBefore,
    emails: emails.emails(),
    observedFinalAt: tracker.observedAt,
  });
  return {
    report,
    failedPosts: failed.length,
    placedAnyway: ghosts.length,
    placedAnywaySample: ghosts.slice(0, 10).map((g) => g.orderId),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Report.

const PROCESS_ORDER = ['kafka', 'schema-registry', 'dynamodb', 'ministack', 'dev', 'bench'];

function ms(value: number): string {
  if (!Number.isFinite(value)) return '-';
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

function effect(check: { lost: number; doubled: number }): string {
  return check.lost === 0 && check.doubled === 0 ? 'ok' : `${check.lost} lost / ${check.doubled} doubled`;
}

/** `n × 1` when every checked order had its effect exactly once, else the violations. */
function exactlyOnce(check: { checked: number; ok: number; lost: number; doubled: number }): string {
  if (check.checked === 0) return '- (none final)';
  return check.lost === 0 && check.doubled === 0 ? `${check.ok} × 1` : effect(check);
}

function stepTable(steps: readonly StepResult[]): string {
  const header = [
    'offered /s',
    'offered',
    'accepted (202)',
    'rejected / errored / not sent (shed)',
    'final',
    'never finished',
    'to final /s',
    'POST→final p50 / p99',
    'decided p99',
    'bare Kafka p50 / p99',
    'stock Δ vs confirmed',
    'charges',
    'emails',
    'peak RSS (stack + dev)',
    'growth 2nd half',
    'top CPU',
  ];
  const rows = steps.map((s) => {
    const a = s.audit;
    const observed = a.observedLatency;
    const sum = (pick: (x: (typeof a.stock.perSku)[number]) => number) =>
      a.stock.perSku.reduce((n, x) => n + pick(x), 0);
    const decrement = sum((x) => x.decrement);
    const confirmed = sum((x) => x.confirmedQuantity);
    const held = sum((x) => x.reservedQuantity) - confirmed;
    const stockViolations = {
      lost: a.stock.skus.lost + a.stock.reservations.lost,
      doubled: a.stock.skus.doubled + a.stock.reservations.doubled,
    };
    const stock =
      stockViolations.lost + stockViolations.doubled === 0
        ? `${decrement} = ${confirmed}${held > 0 ? ` + ${held} held by unfinished` : ''}`
        : `${decrement} vs ${confirmed} confirmed + ${held} held (${effect(stockViolations)})`;
    return [
      String(s.rate),
      String(s.offered),
      String(s.accepted),
      `${s.rejected} / ${s.errored} / ${s.notSent} (${s.shed})`,
      String(a.final),
      String(a.unfinishedCount),
      a.throughputPerSecond.toFixed(1),
      observed ? `${ms(observed.p50)} / ${ms(observed.p99)}` : '-',
      ms(a.decidedLatency.p99),
      s.bare ? `${ms(s.bare.p50)} / ${ms(s.bare.p99)}` : '-',
      stock,
      exactlyOnce(a.charges),
      exactlyOnce(a.emails),
      `${Math.round(s.memory.total.peakMiB)} MiB`,
      `${s.memory.total.growthPercent.toFixed(1)} %`,
      s.topCpu ? `${s.topCpu.process} ${Math.round(s.topCpu.cpuPercent)} %` : '-',
    ];
  });
  return markdown(header, rows);
}

function resourceTable(steps: readonly StepResult[]): string {
  const names = PROCESS_ORDER.filter((n) => steps.some((s) => s.memory.perProcess[n]));
  const others = [...new Set(steps.flatMap((s) => Object.keys(s.memory.perProcess)))].filter((n) => !names.includes(n));
  const all = [...names, ...others];
  const header = ['offered /s', ...all.map((n) => `${n}: peak / end MiB, growth, CPU`)];
  const rows = steps.map((s) => [
    String(s.rate),
    ...all.map((n) => {
      const p = s.memory.perProcess[n];
      if (!p) return '-';
      const cpu = p.cpuPercent === undefined ? 'n/a' : `${Math.round(p.cpuPercent)} %`;
      return `${Math.round(p.peakMiB)} / ${Math.round(p.endMiB)}, ${p.growthPercent >= 0 ? '+' : ''}${p.growthPercent.toFixed(1)} %, ${cpu}`;
    }),
  ]);
  return markdown(header, rows);
}

/** AWS calls per confirmed order by function, and CPU ms per final order by process, one row per step. */
function callsTable(steps: readonly StepResult[]): string {
  const functions = [...new Set(steps.flatMap((s) => Object.keys(s.calls?.perFunction ?? {})))].sort();
  const processes = PROCESS_ORDER.filter((n) => steps.some((s) => s.cpuMsPerOrder[n] !== undefined));
  const header = [
    'offered /s',
    'AWS calls per confirmed order',
    ...functions,
    ...processes.map((n) => `${n} CPU ms/order`),
    '503 (dev sheds)',
  ];
  const rows = steps.map((s) => [
    String(s.rate),
    s.calls ? s.calls.total.toFixed(1) : 'n/a',
    ...functions.map((fn) => (s.calls?.perFunction[fn] ?? 0).toFixed(2)),
    ...processes.map((n) => (s.cpuMsPerOrder[n] === undefined ? '-' : (s.cpuMsPerOrder[n] as number).toFixed(0))),
    String(s.shedByDev),
  ]);
  return markdown(header, rows);
}

/** The highest rate sustained, with its step. */
function capacityOf(steps: readonly StepResult[], tried: ReadonlyMap<number, boolean>): StepResult | undefined {
  return steps.filter((s) => tried.get(s.rate) === true).sort((a, b) => b.rate - a.rate)[0];
}

function markdown(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/** One target and whether the run met it. */
interface Target {
  readonly target: string;
  readonly met: boolean | undefined;
  readonly detail: string;
}

function evaluateTargets(steps: readonly StepResult[], runAudit: RunAudit | undefined): Target[] {
  const run = runAudit?.report;
  const at = (rate: number, seconds: number) => steps.find((s) => s.rate === rate && s.durationSeconds >= seconds);
  const p99 = (s: StepResult | undefined) => s?.audit.observedLatency?.p99 ?? Number.NaN;
  const effects = run
    ? [run.stock.skus, run.stock.reservations, run.charges, run.emails]
    : steps.flatMap((s) => [s.audit.stock.skus, s.audit.stock.reservations, s.audit.charges, s.audit.emails]);
  const lost = effects.reduce((n, c) => n + c.lost, 0);
  const doubled = effects.reduce((n, c) => n + c.doubled, 0);
  const unexpected = run ? run.unexpected.length : steps.reduce((n, s) => n + s.audit.unexpected.length, 0);
  const peak = Math.max(0, ...steps.map((s) => s.memory.total.peakMiB));
  const worstGrowth = Math.max(...steps.map((s) => s.memory.total.growthPercent));
  const twenty = at(20, 60);
  const fifty = at(50, 30);
  const forty = at(40, 30);
  /** Answers other than 202 and 503, and POSTs with no answer. */
  const failures = (s: StepResult) =>
    Object.entries(s.answers)
      .filter(([k]) => k !== '202' && k !== '503')
      .reduce((n, [, v]) => n + v, 0);
  return [
    {
      target: '20 orders/s for 60 s: every order final, p99 POST → final ≤ 5 s',
      met: twenty ? sustained(twenty) : undefined,
      detail: twenty
        ? `${twenty.audit.final} of ${twenty.offered} final, p99 ${ms(p99(twenty))}, ${twenty.shedByDev} shed`
        : 'no 20/s × 60 s step ran (--rate 20 --duration 60)',
    },
    {
      target:
        '50 orders/s for 30 s: every accepted order final with p99 ≤ 10 s, the excess refused with 503, no other error',
      met: fifty
        ? failures(fifty) === 0 &&
          fifty.notSent === 0 &&
          fifty.audit.unfinishedCount === 0 &&
          fifty.audit.final === fifty.accepted &&
          p99(fifty) <= 10_000
        : undefined,
      detail: fifty
        ? `${fifty.accepted} accepted, ${fifty.audit.final} final, ${fifty.shedByDev} refused with 503, ${failures(fifty)} other answers or errors, ${fifty.notSent} not sent by the bench; p99 ${ms(p99(fifty))}`
        : 'no 50/s × 30 s step ran (--rate 50 --duration 30)',
    },
    {
      target: '≤ 12 AWS calls per good order at 40 orders/s',
      met: forty?.calls ? forty.calls.total <= 12 : undefined,
      detail: forty?.calls
        ? `${forty.calls.total.toFixed(1)} calls per confirmed order`
        : 'no 40/s × 30 s step ran (--rate 40 --duration 30)',
    },
    {
      target: '0 lost and 0 doubled effects (stock, charges, emails), every status as expected',
      met:
        lost + doubled + unexpected + (runAudit?.placedAnyway ?? 0) === 0 &&
        (run === undefined || run.unfinished.length === 0),
      detail: `${lost} lost, ${doubled} doubled, ${unexpected} unexpected status(es)${run ? `, ${run.unfinished.length} of ${run.orders} orders never final, ${runAudit?.placedAnyway} of ${runAudit?.failedPosts} error answers placed their order anyway (a client retrying them orders twice), over the whole run once the pipeline was idle` : ' (step audits)'}`,
    },
    {
      target: 'total RSS of stack + dev ≤ 2 GiB and < 5 % growth over the second half of each step',
      met: peak <= 2_048 && worstGrowth < 5,
      detail: `peak ${Math.round(peak)} MiB, worst growth ${worstGrowth.toFixed(1)} %`,
    },
  ];
}

/** One line on the run's audit after the final drain. */
function runAuditLine(runAudit: RunAudit): string {
  const run = runAudit.report;
  const stockDecrement = run.stock.perSku.reduce((n, x) => n + x.decrement, 0);
  const confirmed = run.stock.perSku.reduce((n, x) => n + x.confirmedQuantity, 0);
  return [
    `run audit once the pipeline was idle: ${run.final} of ${run.orders} accepted orders final (${run.byStatus.CONFIRMED} confirmed), ${run.unfinished.length} never final;`,
    `stock ${stockDecrement} taken for ${confirmed} confirmed (${effect({ lost: run.stock.skus.lost + run.stock.reservations.lost, doubled: run.stock.skus.doubled + run.stock.reservations.doubled })});`,
    `charges ${exactlyOnce(run.charges)}; emails ${exactlyOnce(run.emails)};`,
    `${runAudit.placedAnyway} of ${runAudit.failedPosts} POSTs answered with an error placed their order anyway (audited above)`,
    run.violations > 0
      ? `; e.g. ${[...run.stock.skus.examples, ...run.stock.reservations.examples, ...run.charges.examples, ...run.emails.examples].slice(0, 6).join(', ')}`
      : '',
  ].join(' ');
}

// ---------------------------------------------------------------------------------------------------------------
// The run.

/** Runs the load benchmark and prints its tables; resolves with the path of the JSON results. */
export async function runLoadBench(options: LoadOptions = DEFAULT_LOAD_OPTIONS): Promise<string> {
  const config = await requireRunningStack();
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  const seed = readSeed();
  await applySeed(doc, { catalog: localTableName(TABLES.CATALOG), inventory: localTableName(TABLES.INVENTORY) }, seed, {
    resetStock: true,
  });
  const skus = seed.skus.filter((s) => s.stock > 1_000).map((s) => s.sku);
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const resultsDir = path.join(REPO_ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const devLog = path.join(os.tmpdir(), `orderflow-load-${stamp}.dev.log`);
  const run = randomUUID().slice(0, 8);

  console.log(
    `load: ${options.rates.join(', ')} orders/s × ${options.durationSeconds} s each (drain ≤ ${options.drainSeconds} s, ≤ ${options.maxInFlight} POSTs in flight, ≤ ${options.maxBacklog} orders not final); ${os.cpus().length} CPUs, ${Math.round(os.totalmem() / 1024 ** 3)} GiB`,
  );
  console.log(`load: starting npm run dev (log: ${devLog}) ...`);
  const dev = await startDev(devLog, options.devDir);
  const sampler = startSampler(() => dev.child.pid);
  const emails = collectEmails(config.awsEndpointUrl, 10_000);
  const admin = new Kafka({ brokers: [...config.kafkaBrokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const stopAll = async () => {
    sampler.stop();
    await emails.stop();
    await tracker.stop();
    gauge.stop();
    await admin.disconnect().catch(() => undefined);
    await dev.stop();
  };
  const onSignal = () => {
    void stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const tracker = trackFinalStatuses(doc);
  const gauge = backlogGauge(admin, tracker);
  const steps: StepResult[] = [];
  /** Rates stepped through, and whether each was sustained (`sustained`). */
  const tried = new Map<number, boolean>();
  const runOrders: PlacedOrder[] = [];
  const runFailed: FailedPost[] = [];
  let warmup: StepResult | undefined;
  let backlog: Awaited<ReturnType<typeof groupLag>> | undefined;
  let runAudit: RunAudit | undefined;
  try {
    console.log(
      `load: dev serves http://127.0.0.1:${dev.port}; waiting for earlier backlog (≤ ${options.idleSeconds} s) ...`,
    );
    const waitStarted = Date.now();
    const before = await groupLag(admin);
    backlog = await waitForIdle(admin, options.idleSeconds * 1000);
    console.log(
      `load: backlog at start ${Object.entries(before)
        .map(([f, g]) => `${f} ${g.lag}`)
        .join(', ')}; after ${Math.round((Date.now() - waitStarted) / 1000)} s: ${Object.entries(backlog)
        .map(([f, g]) => `${f} ${g.lag}`)
        .join(', ')}`,
    );
    const bares = new Map<number, StepResult['bare']>();
    if (options.bareSeconds > 0) {
      console.log(
        `load: bare kafkajs produce → consume round trip, ${options.bareSeconds} s per rate, pipeline idle ...`,
      );
      for (const rate of options.rates) {
        const count = Math.max(1, Math.round(rate * options.bareSeconds));
        const rtts = await measureKafkaRoundTrip(config.kafkaBrokers, rate, count);
        const bare = { ...summarizeLatencies(rtts), sent: count };
        bares.set(rate, bare);
        console.log(`  ${rate}/s: p50 ${ms(bare.p50)}, p99 ${ms(bare.p99)} (${bare.count} of ${count} consumed)`);
      }
    }
    console.log('load: warming up (10 orders/s for 5 s, not reported) ...');
    const context = {
      admin,
      doc,
      port: dev.port,
      skus,
      emails,
      samples: sampler.samples,
      brokers: config.kafkaBrokers,
      run,
      tracker,
      backlog: gauge.read,
    };
    warmup = (await runStep(10, { ...options, durationSeconds: 5, drainSeconds: 60 }, { ...context, audit: false }))
      .result;
    const stockBefore = await readStock(doc, skus);
    let next = 0;
    const nextRate = () =>
      options.findCapacity
        ? tried.size >= options.maxProbes
          ? undefined
          : nextCapacityRate(options.rates[0] ?? 10, tried)
        : options.rates[next++];
    for (let rate = nextRate(); rate !== undefined; rate = nextRate()) {
      if (options.findCapacity && tried.size > 0) {
        // Each probe starts on an idle pipeline: a failed one's leftovers would count in the next one's latency.
        await waitForIdle(admin, options.drainSeconds * 1000);
      }
      console.log(`load: step ${rate} orders/s for ${options.durationSeconds} s ...`);
      const {
        result: step,
        placed,
        failed,
      } = await runStep(rate, options, {
        ...context,
        audit: true,
        bare: bares.get(rate),
      });
      steps.push(step);
      tried.set(rate, sustained(step));
      if (options.findCapacity) {
        console.log(`  capacity probe ${rate}/s: ${tried.get(rate) ? 'sustained' : 'not sustained'}`);
      }
      runOrders.push(...placed);
      runFailed.push(...failed);
      const a = step.audit;
      console.log(
        `  offered ${step.offered}, accepted ${step.accepted}, rejected ${step.rejected}, errored ${step.errored}, not sent ${step.notSent} (${step.shed} shed); final ${a.final} (${a.byStatus.CONFIRMED} confirmed), never finished ${a.unfinishedCount}; ${a.throughputPerSecond.toFixed(1)} final/s; POST→final p50 ${ms(a.observedLatency?.p50 ?? Number.NaN)} p99 ${ms(a.observedLatency?.p99 ?? Number.NaN)} (decided p99 ${ms(a.decidedLatency.p99)}); violations ${a.violations}${step.bare ? `; bare Kafka p50 ${ms(step.bare.p50)} p99 ${ms(step.bare.p99)}` : ''}`,
      );
      if (a.violations > 0)
        console.log(
          `  violations, e.g.: ${[...a.stock.skus.examples, ...a.stock.reservations.examples, ...a.charges.examples, ...a.emails.examples].slice(0, 10).join(', ')}`,
        );
      if (a.unexpected.length > 0)
        console.log(`  unexpected statuses, e.g.: ${JSON.stringify(a.unexpected.slice(0, 5))}`);
    }
    // Leave the shared consumer groups as we found them (a backlog left here is work for the next pipeline), then
    // audit every order of the run on the idle pipeline.
    console.log(`load: letting dev work off what is left (≤ ${options.finalDrainSeconds} s) ...`);
    const left = await waitForIdle(admin, options.finalDrainSeconds * 1000);
    const remaining = Object.entries(left).filter(([, g]) => g.lag > 0);
    if (remaining.length > 0) {
      console.log(
        `load: still queued when dev stops: ${remaining.map(([f, g]) => `${f} ${g.lag}`).join(', ')} (the next pipeline processes them)`,
      );
    }
    runAudit = await auditRun(doc, run, runOrders, runFailed, skus, stockBefore, emails, tracker);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stopAll();
  }

  const targets = evaluateTargets(steps, runAudit);
  console.log('');
  console.log(stepTable(steps));
  console.log('');
  console.log(
    "Stock, charges and emails per step are read after the step's drain; orders still in flight then can show a late effect as lost. The run audit below is read once the pipeline is idle.",
  );
  console.log('');
  console.log(resourceTable(steps));
  console.log('');
  console.log(callsTable(steps));
  console.log('');
  const capacity = options.findCapacity ? capacityOf(steps, tried) : undefined;
  if (options.findCapacity) {
    console.log(
      capacity
        ? `capacity: ${capacity.rate} orders/s sustained for ${options.durationSeconds} s (every order final, p99 ${ms(capacity.audit.observedLatency?.p99 ?? Number.NaN)} ≤ ${ms(CAPACITY_P99_MS)}); rates tried: ${[...tried].map(([r, ok]) => `${r}/s ${ok ? 'yes' : 'no'}`).join(', ')}`
        : `capacity: no rate tried was sustained (${[...tried].map(([r]) => `${r}/s`).join(', ')}); lower --rate`,
    );
    console.log('');
  }
  if (runAudit) console.log(`${runAuditLine(runAudit)}\n`);
  for (const t of targets) {
    const verdict = t.met === undefined ? 'not evaluated' : t.met ? 'met' : 'NOT met';
    console.log(`target: ${t.target}: ${verdict} (${t.detail})`);
  }
  const file = path.join(resultsDir, `load-${stamp}.json`);
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        startedAt: startedAt.toISOString(),
        host: {
          cpus: os.cpus().length,
          memoryGiB: os.totalmem() / 1024 ** 3,
          platform: `${os.type()} ${os.release()}`,
        },
        backend: currentBackend()?.name,
        options,
        warmup: warmup && { offered: warmup.offered, accepted: warmup.accepted, final: warmup.audit.final },
        backlogBeforeFirstStep: backlog,
        steps,
        run: runAudit && {
          ...auditSummary(runAudit.report),
          failedPosts: runAudit.failedPosts,
          placedAnyway: runAudit.placedAnyway,
          placedAnywaySample: runAudit.placedAnywaySample,
        },
        targets,
        ...(options.findCapacity
          ? { capacity: capacity ? { rate: capacity.rate, step: capacity } : null, tried: Object.fromEntries(tried) }
          : {}),
        devLog,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`load: results in ${path.relative(REPO_ROOT, file)}`);
  return file;
}
