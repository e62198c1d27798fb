/**
 * Emulator benchmark (`npm run bench -- --emulators [--no-moto]`, or `npx tsx bench/emulators.ts [--no-moto]`):
 * the same bounded workloads, at the same client concurrency, against fresh instances of the emulators of the
 * local stack and of the one they replaced, so the README's "Why these emulators" rests on figures measured
 * side by side in one run:
 *
 * - Dynoxide in memory, and Dynoxide with `--db-path` (SQLite file, as `stack:up` runs it);
 * - MiniStack (SQS, EventBridge), started as `stack:up` starts it but on its own port with no persisted state;
 * - moto 5.2.3 (`moto_server`), installed on demand into `local/.devstack/bench-moto-venv` (skipped with
 *   `--no-moto`).
 *
 * Workloads: PutItem of small items; a TransactWriteItems shaped like reserve-inventory's (a conditional stock
 * decrement plus an `attribute_not_exists` marker) into a table that grows during the run, with its rate in the
 * first and last quarter of the window; EventBridge PutEvents (10 entries a call) → rule → SQS, received and
 * deleted until every event arrived. After each DynamoDB workload a Scan checks that every acknowledged write is
 * there. Per workload it reads the emulator's CPU time (utime + stime) and RSS from /proc (Linux).
 *
 * The machine is shared, so, as in bench/run.ts, the emulators take turns: each workload's window is cut into
 * `EMU_ROUNDS` (4) slices per emulator, run round-robin, so a neighbour's load falls on all of them alike and
 * the ratios measured in one run hold even when the absolute figures move.
 *
 * Every instance listens on a spare 127.0.0.1 port with its state in a temp dir, so the running stack is never
 * touched; processes and temp dirs are removed at the end, on error and on Ctrl-C. Bounds: `EMU_CONCURRENCY`
 * requests in flight (default 16), per emulator `EMU_PUT_SECONDS` (10), `EMU_TX_SECONDS` (20) and
 * `EMU_EVENTS_SECONDS` (10, plus the drain) in all; the whole run takes about 3 minutes.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import {
  type AttributeValue,
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DEVSTACK_DIR } from '../local/stack/config.js';
import { DYNOXIDE_VERSION, dynoxideBinary, ministackSpec } from '../local/stack/emulators.js';
import { dynamodbHealth, ministackHealth } from '../local/stack/health.js';
import { freePort, runCommand, sleep, treeRssBytes } from '../local/stack/processes.js';

const CONCURRENCY = Number(process.env.EMU_CONCURRENCY ?? 16);
const PUT_SECONDS = Number(process.env.EMU_PUT_SECONDS ?? 10);
const TX_SECONDS = Number(process.env.EMU_TX_SECONDS ?? 20);
const EVENTS_SECONDS = Number(process.env.EMU_EVENTS_SECONDS ?? 10);
/** Each workload's window is split into this many slices per emulator, taken in turns (see `interleave`). */
const ROUNDS = Number(process.env.EMU_ROUNDS ?? 4);
/** Caps on the count of each workload, so a very fast emulator cannot run away with memory. */
const MAX_PUTS = 400_000;
const MAX_TXS = 400_000;
const MAX_EVENT_CALLS = 20_000;
/** How long receivers keep draining the queue after the last PutEvents. */
const DRAIN_SECONDS = 30;
/** Stock rows the transactions decrement (i % SKUS), so concurrent transactions meet on the same rows. */
const SKUS = 8;
const INITIAL_STOCK = 1_000_000_000;

/** The moto the local stack used before Dynoxide and MiniStack; installed only for this benchmark. */
export const MOTO_VERSION = '5.2.3';
const MOTO_VENV = path.join(DEVSTACK_DIR, 'bench-moto-venv');

/** What `runEmulatorBench` runs. */
export interface EmulatorBenchOptions {
  /**
   * Whether to install (once) and measure moto as the baseline.
   * @default true - moto runs and ratios are reported
   */
  readonly moto?: boolean;
}

/** Options from the command line: `--no-moto` skips moto. */
export function parseEmulatorArgs(argv: readonly string[]): EmulatorBenchOptions {
  return { moto: !argv.includes('--no-moto') };
}

/** One emulator × workload result. */
interface Measurement {
  readonly emulator: string;
  readonly workload: Workload;
  /** Acknowledged operations (PutItem calls, transactions, events received). */
  readonly ops: number;
  readonly seconds: number;
  /** Transactions only: ops/s in the first and in the last slice (a quarter of the window with 4 rounds). */
  readonly quarters?: { readonly first: number; readonly last: number };
  readonly cpuSeconds: number;
  readonly clientCpuSeconds: number;
  readonly rssBefore: number;
  readonly rssAfter: number;
  readonly rssPeak: number;
  readonly errors: Readonly<Record<string, number>>;
  /** Writes (or events) the emulator acknowledged. */
  readonly acknowledged: number;
  /** Acknowledged writes (or events) missing afterwards. */
  readonly lost: number;
  /** How `lost` was established, and anything else odd. */
  readonly note: string;
}

type Workload = 'PutItem' | 'TransactWriteItems' | 'PutEvents → SQS';
const WORKLOADS: readonly Workload[] = ['PutItem', 'TransactWriteItems', 'PutEvents → SQS'];

/** A started emulator instance. */
interface Instance {
  readonly label: string;
  readonly endpoint: string;
  readonly port: number;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly log: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Processes and temp dirs, removed on every way out.

const children = new Set<ChildProcess>();
let scratch: string | undefined;

function killAll(): void {
  for (const child of children) signalGroup(child, 'SIGKILL');
  children.clear();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
}

function signalGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, sig); // its own group (detached): helpers it forked go too
  } catch {
    child.kill(sig);
  }
}

async function stop(instance: Instance): Promise<void> {
  const { child } = instance;
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  signalGroup(child, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
  children.delete(child);
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

const logOffsets = new Map<string, number>();

/** The most frequent exception lines (Python tracebacks) logged since the last call, for the progress output. */
function newExceptions(file: string): string {
  let text = '';
  try {
    const all = readFileSync(file, 'utf8');
    text = all.slice(logOffsets.get(file) ?? 0);
    logOffsets.set(file, all.length);
  } catch {
    return '';
  }
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!/^[\w.]+(Error|Exception)\b/.test(line)) continue;
    const key = line.slice(0, 160);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([line, n]) => `\n    in its log ${n}×: ${line}`)
    .join('');
}

async function launch(
  label: string,
  spec: { command: string; args: readonly string[]; env?: NodeJS.ProcessEnv },
  port: number,
  healthy: (endpoint: string) => Promise<boolean>,
): Promise<Instance> {
  if (!scratch) throw new Error('emulator bench: no scratch dir');
  const log = path.join(scratch, `${label.replace(/[^a-z0-9]+/gi, '-')}.log`);
  const out = openSync(log, 'a');
  const child = spawn(spec.command, [...spec.args], {
    env: spec.env ?? process.env,
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  children.add(child);
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (spawnError)
      throw new Error(`${label} could not start (${spec.command}): ${spawnError.message}`, { cause: spawnError });
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${label} exited (${child.signalCode ?? `exit ${child.exitCode}`}) before answering:\n${tail(log)}`,
      );
    }
    if (await healthy(endpoint).catch(() => false)) break;
    if (Date.now() > deadline) throw new Error(`${label} did not answer on ${endpoint} within 90 s:\n${tail(log)}`);
    await sleep(200);
  }
  if (child.pid === undefined) throw new Error(`${label} has no pid`);
  return { label, endpoint, port, child, pid: child.pid, log };
}

async function startDynoxide(label: string, dbPath?: string): Promise<Instance> {
  const binary = dynoxideBinary();
  if (!existsSync(binary)) throw new Error(`Dynoxide is not built (${binary}); run npm run stack:up once`);
  const port = await freePort();
  const args = ['serve', '--host', '127.0.0.1', '--port', String(port), '--log', 'quiet'];
  if (dbPath) args.push('--db-path', dbPath);
  return launch(label, { command: binary, args }, port, async (e) => (await dynamodbHealth(e)).healthy);
}

async function startMinistack(): Promise<Instance> {
  if (!scratch) throw new Error('emulator bench: no scratch dir');
  const port = await freePort();
  const stateDir = path.join(scratch, 'ministack-state');
  mkdirSync(stateDir, { recursive: true });
  const spec = ministackSpec({ GATEWAY_PORT: String(port), PERSIST_STATE: '0', STATE_DIR: stateDir });
  if (!existsSync(spec.command)) throw new Error(`MiniStack is not installed (${spec.command}); run npm run stack:up`);
  return launch('MiniStack', spec, port, async (e) => (await ministackHealth(e)).healthy);
}

/** Installs moto into its own venv when the pinned version is not there (pip's cache makes a reinstall quick). */
async function ensureMoto(): Promise<string> {
  const python = path.join(MOTO_VENV, 'bin', 'python');
  const server = path.join(MOTO_VENV, 'bin', 'moto_server');
  const installed = existsSync(python)
    ? await runCommand(python, ['-c', 'import importlib.metadata as m; print(m.version("moto"))']).catch(() => '')
    : '';
  if (installed.trim() !== MOTO_VERSION || !existsSync(server)) {
    console.error(`installing moto[server]==${MOTO_VERSION} into ${path.relative(process.cwd(), MOTO_VENV)} ...`);
    if (!existsSync(python)) await runCommand('python3', ['-m', 'venv', MOTO_VENV]);
    await runCommand(
      python,
      ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', `moto[server]==${MOTO_VERSION}`],
      { timeoutMs: 10 * 60_000, inherit: true },
    );
  }
  return server;
}

async function startMoto(server: string): Promise<Instance> {
  const port = await freePort();
  return launch('moto', { command: server, args: ['-H', '127.0.0.1', '-p', String(port)] }, port, async (e) => {
    const response = await fetch(`${e}/moto-api/`, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.ok;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// /proc readings.

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (utime + stime, and those of reaped children) of `pid` and its descendants. */
function treeCpuSeconds(pid: number): number {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after "(comm) ": state ppid ... utime(14) stime(15) cutime(16) cstime(17), 1-based in proc(5).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0);
      stats.set(Number(entry), { ppid: Number(fields[1]), ticks });
    } catch {
      // Exited meanwhile.
    }
  }
  let ticks = 0;
  const stack = [pid];
  while (stack.length > 0) {
    const current = stack.pop() as number;
    ticks += stats.get(current)?.ticks ?? 0;
    for (const [child, s] of stats) if (s.ppid === current) stack.push(child);
  }
  return ticks / CLOCK_TICKS;
}

/** Emulator CPU, bench client CPU and emulator RSS, summed over the slices of one workload on one emulator. */
class Meter {
  cpuSeconds = 0;
  clientCpuSeconds = 0;
  rssBefore = -1;
  rssAfter = 0;
  rssPeak = 0;

  constructor(private readonly pid: number) {}

  /** Runs `slice`, adding what the emulator and this process used meanwhile; RSS is sampled every 250 ms. */
  async measure(slice: () => Promise<void>): Promise<void> {
    const cpu0 = treeCpuSeconds(this.pid);
    const client0 = process.cpuUsage();
    const rss0 = treeRssBytes(this.pid);
    if (this.rssBefore < 0) this.rssBefore = rss0;
    this.rssPeak = Math.max(this.rssPeak, rss0);
    const sampler = setInterval(() => {
      this.rssPeak = Math.max(this.rssPeak, treeRssBytes(this.pid));
    }, 250);
    try {
      await slice();
    } finally {
      clearInterval(sampler);
      const client = process.cpuUsage(client0);
      this.clientCpuSeconds += (client.user + client.system) / 1e6;
      this.cpuSeconds += treeCpuSeconds(this.pid) - cpu0;
      this.rssAfter = treeRssBytes(this.pid);
      this.rssPeak = Math.max(this.rssPeak, this.rssAfter);
    }
  }

  usage() {
    const { cpuSeconds, clientCpuSeconds, rssBefore, rssAfter, rssPeak } = this;
    return { cpuSeconds, clientCpuSeconds, rssBefore, rssAfter, rssPeak };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Load.

/** Messages of the first error of each kind, shown in the progress lines (the table only counts them). */
const errorSamples = new Map<string, string>();

/** Error kind with the HTTP status, e.g. `SyntaxError HTTP 500` when the SDK could not parse an error page. */
function errorName(error: unknown): string {
  const e = error as {
    name?: string;
    code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
    $response?: { statusCode?: number };
  };
  const status = e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
  const name = `${e.code ?? e.name ?? 'Error'}${status ? ` HTTP ${status}` : ''}`;
  if (!errorSamples.has(name)) errorSamples.set(name, (e.message ?? String(error)).split('\n')[0]?.slice(0, 200) ?? '');
  return name;
}

function count(errors: Record<string, number>, name: string, n = 1): void {
  errors[name] = (errors[name] ?? 0) + n;
}

/**
 * A closed-loop load that can be run in slices: `op(0..)` from `concurrency` workers, each starting its next op
 * when its last one ended, resuming where the previous slice stopped. Keeps which ops were acknowledged.
 */
class ClosedLoop {
  acked = 0;
  seconds = 0;
  readonly errors: Record<string, number> = {};
  /** Acknowledged ops per second in each slice. */
  readonly sliceRates: number[] = [];
  private next = 0;
  private readonly ackedIndex: Uint8Array;

  constructor(
    private readonly max: number,
    private readonly op: (i: number) => Promise<void>,
  ) {
    this.ackedIndex = new Uint8Array(max);
  }

  /** Indices of the acknowledged ops. */
  *ackedOps(): Generator<number> {
    for (let i = 0; i < this.next; i += 1) if (this.ackedIndex[i] === 1) yield i;
  }

  async run(seconds: number, concurrency: number): Promise<void> {
    const started = performance.now();
    const deadline = started + seconds * 1000;
    const ackedBefore = this.acked;
    const worker = async () => {
      while (this.next < this.max && performance.now() < deadline) {
        const i = this.next;
        this.next += 1;
        try {
          await this.op(i);
          this.ackedIndex[i] = 1;
          this.acked += 1;
        } catch (error) {
          count(this.errors, errorName(error));
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const elapsed = (performance.now() - started) / 1000;
    this.seconds += elapsed;
    this.sliceRates.push((this.acked - ackedBefore) / elapsed);
  }
}

function clientConfig(endpoint: string) {
  return {
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    // No retries: an error counts as one, instead of being hidden (and re-sent) by the SDK.
    maxAttempts: 1,
    requestHandler: { requestTimeout: 30_000, connectionTimeout: 5_000 },
  };
}

async function createTable(ddb: DynamoDBClient, name: string): Promise<void> {
  await ddb.send(
    new CreateTableCommand({
      TableName: name,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

/** Every `pk` in `table` (consistent Scan, paginated). */
async function scanKeys(ddb: DynamoDBClient, table: string): Promise<Set<string>> {
  const keys = new Set<string>();
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await ddb.send(
      new ScanCommand({ TableName: table, ProjectionExpression: 'pk', ConsistentRead: true, ExclusiveStartKey: start }),
    );
    for (const item of page.Items ?? []) if (item.pk?.S) keys.add(item.pk.S);
    start = page.LastEvaluatedKey;
  } while (start);
  return keys;
}

/** A few ops on a side table first: connections opened, code paths warm, before anything is measured. */
async function warmUp(ddb: DynamoDBClient): Promise<void> {
  await createTable(ddb, 'bench-warmup');
  await new ClosedLoop(500, async (i) => {
    await ddb.send(new PutItemCommand({ TableName: 'bench-warmup', Item: { pk: { S: `w-${i}` } } }));
  }).run(2, CONCURRENCY);
}

/** One workload on one emulator, run slice by slice, then checked. */
interface WorkloadRun {
  readonly instance: Instance;
  /** Puts load on the emulator for about `seconds`. */
  slice(seconds: number): Promise<void>;
  /** Per-slice rates so far, for the progress lines. */
  sliceRates(): readonly number[];
  /** Checks what was acknowledged and builds the result. */
  finish(usage: ReturnType<Meter['usage']>): Promise<Measurement>;
}

function putItemRun(instance: Instance, ddb: DynamoDBClient): WorkloadRun {
  const table = 'bench-put';
  const load = new ClosedLoop(MAX_PUTS, async (i) => {
    await ddb.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          pk: { S: `ITEM#${i}` },
          sku: { S: `SKU-${i % SKUS}` },
          quantity: { N: String(1 + (i % 3)) },
          at: { N: String(Date.now()) },
        },
      }),
    );
  });
  let created = false;
  return {
    instance,
    async slice(seconds) {
      if (!created) await createTable(ddb, table);
      created = true;
      await load.run(seconds, CONCURRENCY);
    },
    sliceRates: () => load.sliceRates,
    async finish(usage) {
      const keys = await scanKeys(ddb, table);
      let lost = 0;
      for (const i of load.ackedOps()) if (!keys.has(`ITEM#${i}`)) lost += 1;
      const unacked = keys.size - (load.acked - lost);
      return {
        emulator: instance.label,
        workload: 'PutItem',
        ops: load.acked,
        seconds: load.seconds,
        ...usage,
        errors: load.errors,
        acknowledged: load.acked,
        lost,
        note: `Scan found ${keys.size.toLocaleString('en')} items for ${load.acked.toLocaleString('en')} acknowledged${
          unacked > 0 ? ` (${unacked} from failed calls)` : ''
        }`,
      };
    },
  };
}

function transactionRun(instance: Instance, ddb: DynamoDBClient): WorkloadRun {
  const table = 'bench-tx';
  // reserve-inventory's transaction (functions/reserve-inventory/inventory-store.ts): marker + stock decrement.
  // Like every SDK call of TransactWriteItems it carries a generated ClientRequestToken, so an emulator's cost of
  // keeping idempotency tokens (DynamoDB keeps them 10 minutes) is part of what is measured, as in the stack.
  const load = new ClosedLoop(MAX_TXS, async (i) => {
    await ddb.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          {
            Put: {
              TableName: table,
              Item: { pk: { S: `RESERVATION#${i}` }, sku: { S: `SKU-${i % SKUS}` }, quantity: { N: '1' } },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          {
            Update: {
              TableName: table,
              Key: { pk: { S: `SKU#${i % SKUS}` } },
              UpdateExpression: 'SET #available = #available - :q',
              ConditionExpression: '#available >= :q',
              ExpressionAttributeNames: { '#available': 'available' },
              ExpressionAttributeValues: { ':q': { N: '1' } },
            },
          },
        ],
      }),
    );
  });
  let created = false;
  return {
    instance,
    async slice(seconds) {
      if (!created) {
        await createTable(ddb, table);
        for (let s = 0; s < SKUS; s += 1) {
          await ddb.send(
            new PutItemCommand({
              TableName: table,
              Item: { pk: { S: `SKU#${s}` }, available: { N: String(INITIAL_STOCK) } },
            }),
          );
        }
      }
      created = true;
      await load.run(seconds, CONCURRENCY);
    },
    sliceRates: () => load.sliceRates,
    async finish(usage) {
      const keys = await scanKeys(ddb, table);
      let lostMarkers = 0;
      for (const i of load.ackedOps()) if (!keys.has(`RESERVATION#${i}`)) lostMarkers += 1;
      let decrements = 0;
      for (let s = 0; s < SKUS; s += 1) {
        const { Item } = await ddb.send(
          new GetItemCommand({ TableName: table, Key: { pk: { S: `SKU#${s}` } }, ConsistentRead: true }),
        );
        decrements += INITIAL_STOCK - Number(Item?.available?.N ?? INITIAL_STOCK);
      }
      const lostDecrements = Math.max(0, load.acked - decrements);
      const unackedMarkers = keys.size - SKUS - (load.acked - lostMarkers);
      return {
        emulator: instance.label,
        workload: 'TransactWriteItems',
        ops: load.acked,
        seconds: load.seconds,
        quarters: { first: load.sliceRates[0] ?? Number.NaN, last: load.sliceRates.at(-1) ?? Number.NaN },
        ...usage,
        errors: load.errors,
        acknowledged: load.acked,
        lost: Math.max(lostMarkers, lostDecrements),
        note:
          `${load.acked.toLocaleString('en')} acknowledged: ${(load.acked - lostMarkers).toLocaleString('en')} ` +
          `markers found, stock decremented by ${decrements.toLocaleString('en')}; the table grew to ` +
          `${keys.size.toLocaleString('en')} items${unackedMarkers > 0 ? ` (${unackedMarkers} markers of failed calls)` : ''}`,
      };
    },
  };
}

/**
 * PutEvents of 10 entries a call onto a custom bus whose rule targets an SQS queue, from half the workers, while
 * the other half receive (long polling) and delete; each slice ends once every accepted event has arrived (or
 * `DRAIN_SECONDS` passed), and its time runs to the last arrival.
 */
async function eventsRun(instance: Instance, eventBridge: EventBridgeClient, sqs: SQSClient): Promise<WorkloadRun> {
  const bus = 'bench-bus';
  const source = 'orderflow.bench';
  await eventBridge.send(new CreateEventBusCommand({ Name: bus }));
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'bench-events' }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  await eventBridge.send(
    new PutRuleCommand({ Name: 'bench-rule', EventBusName: bus, EventPattern: JSON.stringify({ source: [source] }) }),
  );
  await eventBridge.send(
    new PutTargetsCommand({
      Rule: 'bench-rule',
      EventBusName: bus,
      Targets: [{ Id: 'queue', Arn: Attributes?.QueueArn }],
    }),
  );

  const seen = new Set<number>();
  const accepted: number[] = [];
  const errors: Record<string, number> = {};
  const sliceRates: number[] = [];
  let warmedUp = false;
  let seconds = 0;
  let putSeconds = 0;
  let calls = 0;

  const receiveBatch = async () => {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 120 }),
    );
    for (const message of Messages) {
      const n = (JSON.parse(message.Body ?? '{}') as { detail?: { n?: number } }).detail?.n;
      if (typeof n !== 'number') continue;
      if (n < 0) warmedUp = true;
      else if (seen.has(n)) count(errors, 'duplicate deliveries');
      else seen.add(n);
    }
    if (Messages.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl,
          Entries: Messages.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle })),
        }),
      );
    }
    return Messages.length;
  };
  const put = async (first: number, n: number) => {
    const { Entries = [] } = await eventBridge.send(
      new PutEventsCommand({
        Entries: Array.from({ length: n }, (_, k) => ({
          EventBusName: bus,
          Source: source,
          DetailType: 'BenchEvent',
          Detail: JSON.stringify({ n: first + k, orderId: `order-${first + k}`, status: 'CONFIRMED' }),
        })),
      }),
    );
    Entries.forEach((entry, k) => {
      if (first < 0) return; // the warm-up event
      if (!entry.ErrorCode) accepted.push(first + k);
      else {
        count(errors, 'FailedEntry');
        if (!errorSamples.has('FailedEntry'))
          errorSamples.set('FailedEntry', `${entry.ErrorCode}: ${entry.ErrorMessage}`);
      }
    });
  };

  // Warm-up, and proof that the route works before anything is timed: one event must come through.
  await put(-1, 1);
  const warmDeadline = Date.now() + 15_000;
  while (!warmedUp && Date.now() < warmDeadline) await receiveBatch();
  if (!warmedUp) throw new Error(`${instance.label}: an event put on ${bus} never reached its SQS target`);

  const senders = new ClosedLoop(MAX_EVENT_CALLS, async (i) => {
    calls = i + 1;
    await put(i * 10, 10);
  });
  const workers = Math.max(1, Math.floor(CONCURRENCY / 2));
  return {
    instance,
    async slice(sliceSeconds) {
      const started = performance.now();
      const before = seen.size;
      let lastArrival = started;
      let sending = true;
      let drainDeadline = Number.POSITIVE_INFINITY;
      const receiver = async () => {
        while (sending || (seen.size < accepted.length && performance.now() < drainDeadline)) {
          try {
            if ((await receiveBatch()) > 0) lastArrival = performance.now();
          } catch (error) {
            count(errors, `receive ${errorName(error)}`);
          }
        }
      };
      const receiving = Promise.all(Array.from({ length: workers }, receiver));
      const putStarted = performance.now();
      await senders.run(sliceSeconds, workers).finally(() => {
        sending = false;
      });
      putSeconds += (performance.now() - putStarted) / 1000;
      drainDeadline = performance.now() + DRAIN_SECONDS * 1000;
      await receiving;
      const elapsed = (lastArrival - started) / 1000;
      seconds += elapsed;
      sliceRates.push((seen.size - before) / elapsed);
    },
    sliceRates: () => sliceRates,
    async finish(usage) {
      const lost = accepted.filter((n) => !seen.has(n)).length;
      for (const [name, n] of Object.entries(senders.errors)) count(errors, name, n);
      return {
        emulator: instance.label,
        workload: 'PutEvents → SQS',
        ops: seen.size,
        seconds,
        ...usage,
        errors,
        acknowledged: accepted.length,
        lost,
        note:
          `${accepted.length.toLocaleString('en')} events accepted in ${calls.toLocaleString('en')} calls ` +
          `(${Math.round(accepted.length / putSeconds).toLocaleString('en')}/s put), ` +
          `${seen.size.toLocaleString('en')} received`,
      };
    },
  };
}

/**
 * Runs `runs` (one per emulator) round-robin in `ROUNDS` slices of `seconds / ROUNDS` each, rotating who goes
 * first, so a neighbour's load on the shared cores falls on every emulator alike; then checks each.
 */
async function interleave(workload: Workload, runs: readonly WorkloadRun[], seconds: number): Promise<Measurement[]> {
  const meters = runs.map((r) => new Meter(r.instance.pid));
  for (let round = 0; round < ROUNDS; round += 1) {
    for (let k = 0; k < runs.length; k += 1) {
      const j = (round + k) % runs.length;
      const run = runs[j];
      const meter = meters[j];
      if (!run || !meter) continue;
      await meter.measure(() => run.slice(seconds / ROUNDS));
    }
    progress(
      `${workload} round ${round + 1}/${ROUNDS}: ${runs
        .map((r) => `${r.instance.label} ${fmtRate(r.sliceRates().at(-1) ?? Number.NaN)}/s`)
        .join(', ')}`,
    );
  }
  const results: Measurement[] = [];
  for (const [j, run] of runs.entries()) {
    const meter = meters[j];
    if (!meter) continue;
    const result = await run.finish(meter.usage());
    progress(`  ${summary(result)}${newExceptions(run.instance.log)}`);
    results.push(result);
  }
  return results;
}

// ---------------------------------------------------------------------------------------------------------------
// Report.

function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

/** Highest 1-minute load average seen at a progress line: how busy the shared machine was. */
let peakLoad = 0;

function progress(line: string): void {
  peakLoad = Math.max(peakLoad, os.loadavg()[0] ?? 0);
  console.error(`[emulators ${new Date().toISOString().slice(11, 19)} load ${loadAverage()}] ${line}`);
}

const rate = (m: Measurement) => m.ops / m.seconds;
const cpuPerK = (m: Measurement) => (m.cpuSeconds / m.ops) * 1000;
const clientCpuPerK = (m: Measurement) => (m.clientCpuSeconds / m.ops) * 1000;

function fmtRate(x: number): string {
  if (!Number.isFinite(x)) return '–';
  return x >= 100 ? Math.round(x).toLocaleString('en') : x.toFixed(1);
}

function fmtCpu(x: number): string {
  if (!Number.isFinite(x)) return '–';
  return x >= 10 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toFixed(3);
}

function mib(bytes: number): string {
  const m = bytes / 2 ** 20;
  return m >= 1024 ? `${(m / 1024).toFixed(1)} GiB` : m >= 10 ? `${m.toFixed(0)} MiB` : `${m.toFixed(1)} MiB`;
}

function fmtErrors(errors: Readonly<Record<string, number>>): string {
  const entries = Object.entries(errors);
  return entries.length === 0 ? '0' : entries.map(([name, n]) => `${n} ${name}`).join(', ');
}

function summary(m: Measurement): string {
  const quarters = m.quarters
    ? `, first slice ${fmtRate(m.quarters.first)}/s → last ${fmtRate(m.quarters.last)}/s`
    : '';
  return (
    `${fmtRate(rate(m))}/s over ${m.seconds.toFixed(1)} s${quarters}; CPU ${m.cpuSeconds.toFixed(1)} s ` +
    `(client ${m.clientCpuSeconds.toFixed(1)} s); RSS ${mib(m.rssBefore)} → ${mib(m.rssAfter)}; ` +
    `errors ${fmtErrors(m.errors)}; lost ${m.lost}; ${m.note}` +
    Object.keys(m.errors)
      .map((name) => [name, errorSamples.get(name.replace(/^receive /, ''))])
      .filter(([, sample]) => sample)
      .map(([name, sample]) => `\n    first ${name}: ${sample}`)
      .join('')
  );
}

function ratio(x: number): string {
  if (!Number.isFinite(x) || x <= 0) return '–';
  return x >= 10 ? `×${Math.round(x)}` : `×${x.toFixed(1)}`;
}

function report(
  results: readonly Measurement[],
  versions: Readonly<Record<string, string>>,
  startLoad: string,
): string {
  const lines: string[] = [];
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  lines.push(
    `Emulators side by side, ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} cores (${cpu}), ` +
      `${CONCURRENCY} requests in flight; load average ${startLoad} at the start, ${loadAverage()} at the end, ` +
      `1-minute peak ${peakLoad.toFixed(1)}. ${Object.entries(versions)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}.`,
    '',
    '| emulator | workload | ops/s | first → last slice | emulator CPU s / 1k ops | ops per emulator CPU-second | bench client CPU s / 1k ops | emulator RSS before → after (peak) | errors | lost writes |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |',
  );
  for (const m of results) {
    const unit = m.workload === 'PutEvents → SQS' ? ' events/s' : '';
    lines.push(
      `| ${m.emulator} | ${m.workload} | ${fmtRate(rate(m))}${unit} | ${
        m.quarters ? `${fmtRate(m.quarters.first)} → ${fmtRate(m.quarters.last)}` : '–'
      } | ${fmtCpu(cpuPerK(m))} | ${fmtRate(1000 / cpuPerK(m))} | ${fmtCpu(clientCpuPerK(m))} | ${mib(m.rssBefore)} → ${mib(m.rssAfter)} (${mib(
        m.rssPeak,
      )}) | ${fmtErrors(m.errors)} | ${m.lost.toLocaleString('en')} of ${m.acknowledged.toLocaleString('en')} |`,
    );
  }
  lines.push(
    '',
    `Windows per emulator: PutItem ${PUT_SECONDS} s, transactions ${TX_SECONDS} s, PutEvents ${EVENTS_SECONDS} s ` +
      `(plus the drain), each cut into ${ROUNDS} slices taken in turns, one emulator loaded at a time. Where the ` +
      'bench client spends more CPU per op than the emulator, ops/s is bound by the ' +
      'client (one Node process with the AWS SDK v3, sharing the cores), and "ops per emulator CPU-second" is the ' +
      "better measure of the emulator's capacity.",
  );
  const moto = new Map(results.filter((m) => m.emulator === 'moto').map((m) => [m.workload, m]));
  if (moto.size > 0) {
    lines.push(
      '',
      'Ratios against moto, measured in the same run:',
      '',
      '| workload | emulator | throughput vs moto | CPU per op vs moto |',
      '| --- | --- | ---: | ---: |',
    );
    for (const workload of WORKLOADS) {
      const base = moto.get(workload);
      if (!base) continue;
      for (const m of results.filter((r) => r.workload === workload && r.emulator !== 'moto')) {
        const last = m.quarters && base.quarters ? ` (last slice: ${ratio(m.quarters.last / base.quarters.last)})` : '';
        lines.push(
          `| ${workload} | ${m.emulator} | ${ratio(rate(m) / rate(base))}${last} | ${ratio(cpuPerK(base) / cpuPerK(m))} less |`,
        );
      }
    }
  }
  lines.push(
    '',
    'Lost writes: acknowledged PutItems / transactions not found by a consistent Scan afterwards, or accepted events that never reached the queue.',
  );
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------

/** Runs every emulator through every workload it serves and prints the markdown table; cleans up after itself. */
export async function runEmulatorBench(options: EmulatorBenchOptions = {}): Promise<void> {
  const withMoto = options.moto ?? true;
  const onSignal = (sig: NodeJS.Signals) => {
    console.error(`emulator bench: ${sig}, stopping the emulators it started`);
    killAll();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killAll);
  scratch = mkdtempSync(path.join(os.tmpdir(), 'orderflow-bench-emulators-'));
  const startLoad = loadAverage();
  const versions: Record<string, string> = { Dynoxide: DYNOXIDE_VERSION };
  const destroy: Array<{ destroy(): void }> = [];
  try {
    const motoServer = withMoto ? await ensureMoto() : undefined;
    if (!withMoto) progress('--no-moto: moto skipped, so no ratios');

    // All started up front; an idle one uses no CPU, and the rounds below take turns.
    const instances: Instance[] = [
      await startDynoxide('Dynoxide (memory)'),
      await startDynoxide('Dynoxide (--db-path)', path.join(scratch, 'dynoxide.db')),
      await startMinistack(),
    ];
    if (motoServer) instances.push(await startMoto(motoServer));
    for (const i of instances) progress(`${i.label}: pid ${i.pid} on ${i.endpoint}`);
    const ministack = instances.find((i) => i.label === 'MiniStack');
    if (ministack) {
      versions.MiniStack = (await ministackHealth(ministack.endpoint)).detail.replace(/^MiniStack\s*/, '') || '?';
    }
    if (motoServer) versions.moto = MOTO_VERSION;

    const dynamo = instances.filter((i) => i.label !== 'MiniStack');
    const ddbs = dynamo.map((i) => new DynamoDBClient(clientConfig(i.endpoint)));
    destroy.push(...ddbs);
    for (const ddb of ddbs) await warmUp(ddb);
    const pairs = dynamo.map((instance, j) => ({ instance, ddb: ddbs[j] as DynamoDBClient }));
    const results: Measurement[] = [];
    results.push(
      ...(await interleave(
        'PutItem',
        pairs.map((p) => putItemRun(p.instance, p.ddb)),
        PUT_SECONDS,
      )),
    );
    results.push(
      ...(await interleave(
        'TransactWriteItems',
        pairs.map((p) => transactionRun(p.instance, p.ddb)),
        TX_SECONDS,
      )),
    );

    const eventRuns: WorkloadRun[] = [];
    for (const instance of instances.filter((i) => i.label === 'MiniStack' || i.label === 'moto')) {
      const eventBridge = new EventBridgeClient(clientConfig(instance.endpoint));
      const sqs = new SQSClient(clientConfig(instance.endpoint));
      destroy.push(eventBridge, sqs);
      eventRuns.push(await eventsRun(instance, eventBridge, sqs));
    }
    results.push(...(await interleave('PutEvents → SQS', eventRuns, EVENTS_SECONDS)));

    const order = instances.map((i) => i.label);
    results.sort(
      (a, b) =>
        order.indexOf(a.emulator) - order.indexOf(b.emulator) ||
        WORKLOADS.indexOf(a.workload) - WORKLOADS.indexOf(b.workload),
    );
    for (const instance of instances) await stop(instance);
    console.log(report(results, versions, startLoad));
  } finally {
    for (const client of destroy) client.destroy();
    killAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', killAll);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await runEmulatorBench(parseEmulatorArgs(process.argv.slice(2)));
}
