/**
 * The AWS emulators of the local stack, the same for both backends: Dynoxide (DynamoDB on SQLite, built from
 * crates.io with cargo), MiniStack (SQS, EventBridge, SES; from PyPI in its own venv) and the in-repo Glue Schema
 * Registry emulator (`local/glue-registry/`, Node; neither moto nor MiniStack keeps Glue ids). They run as host
 * processes bound to 127.0.0.1, with their state under `local/.devstack/data/`, so `stack:down` / `stack:up`
 * keeps every order, stock level and queued email next to the Kafka topics that refer to them.
 *
 * Why these two and not moto: see the README ("Why these emulators"). In short, moto served 50–90 requests/s on
 * one core, deep-copied whole tables per TransactWriteItems, lost acknowledged writes under concurrency and grew
 * without bound; Dynoxide and MiniStack are each an order of magnitude faster and stay flat.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SERVER_SCRIPT as GLUE_SERVER_SCRIPT } from '../glue-registry/server.js';
import type { Log, ServiceProcess } from './backend.js';
import { DEVSTACK_DIR, EMULATOR_URLS, REPO_ROOT } from './config.js';
import { dynamodbHealth, glueHealth, ministackHealth } from './health.js';
import {
  commandWorks,
  ensureStarted,
  logFile,
  type ProcessSpec,
  runCommand,
  runningPid,
  stopProcess,
  treeRssBytes,
  waitFor,
} from './processes.js';

/** Pinned Dynoxide release (crates.io `dynoxide-rs`). */
export const DYNOXIDE_VERSION = '3.2.0';

/** MiniStack's pinned requirements (its botocore pin would clash with other tools, so it has a venv of its own). */
const MINISTACK_REQUIREMENTS = path.join(REPO_ROOT, 'local', 'requirements.txt');
const MINISTACK_VENV = path.join(DEVSTACK_DIR, 'ministack-venv');
const MINISTACK_LAUNCHER = path.join(REPO_ROOT, 'local', 'stack', 'ministack_bounded.py');
const MINISTACK_MARKER = path.join(DEVSTACK_DIR, 'ministack-venv', 'installed.txt');

const DATA_DIR = path.join(DEVSTACK_DIR, 'data');
/** Dynoxide's SQLite database: every DynamoDB table of the local stack. */
export const DYNAMODB_DATA = path.join(DATA_DIR, 'dynamodb');
/** MiniStack's state files (queues and their messages, bus, rules, SES identities and templates). */
export const MINISTACK_DATA = path.join(DATA_DIR, 'ministack');
/** The Glue Schema Registry emulator's state file (every schema version id, kept across restarts). */
export const GLUE_DATA = path.join(DATA_DIR, 'glue');

/**
 * Most entries MiniStack keeps in each in-memory log (sent emails, the EventBridge events log); older ones are
 * dropped. `ORDERFLOW_EMULATOR_LOG_CAP` changes it.
 */
export const DEFAULT_LOG_CAP = 10_000;

/**
 * Where built tools are cached across clones: `ORDERFLOW_CACHE_DIR`, else `$XDG_CACHE_HOME/orderflow`, else
 * `~/.cache/orderflow`. Like Maven's and pip's caches, it only saves time: `install` rebuilds what is missing.
 */
export function toolCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ORDERFLOW_CACHE_DIR) return env.ORDERFLOW_CACHE_DIR;
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'orderflow');
}

/** Path of the Dynoxide binary of the pinned version. */
export function dynoxideBinary(): string {
  return path.join(toolCacheDir(), `dynoxide-${DYNOXIDE_VERSION}`, 'bin', 'dynoxide');
}

/** Ports of the emulators (loopback only), from `EMULATOR_URLS`. */
export const EMULATOR_PORTS = {
  dynamodb: Number(new URL(EMULATOR_URLS.dynamodb).port),
  ministack: Number(new URL(EMULATOR_URLS.default).port),
  glue: Number(new URL(EMULATOR_URLS.glue).port),
} as const;

const MARKERS = { dynamodb: 'dynoxide', ministack: 'ministack_bounded.py', glue: 'glue-registry/server.ts' } as const;

/** What the emulators need on PATH, with how to get each, or [] when all are there. */
export async function missingEmulatorPrerequisites(): Promise<string[]> {
  const missing: string[] = [];
  if (!existsSync(dynoxideBinary()) && !(await commandWorks('cargo', ['--version']))) {
    missing.push('Rust 1.88+ with cargo (`cargo`), to build Dynoxide once: https://rustup.rs or apt-get install cargo');
  }
  if (!(await commandWorks('python3', ['-c', 'import venv, sys; assert sys.version_info >= (3, 10)']))) {
    missing.push('Python 3.10+ with venv (`python3`): apt-get install python3 python3-venv');
  }
  return missing;
}

/**
 * Builds Dynoxide (≈ 2–3 minutes once, then cached) and installs MiniStack into its venv, each only when the
 * installed version differs from the pinned one. Progress goes to the terminal, so a first start is not silent.
 */
export async function installEmulators(log: Log): Promise<void> {
  if (!existsSync(dynoxideBinary())) {
    const root = path.dirname(path.dirname(dynoxideBinary()));
    log(`building Dynoxide ${DYNOXIDE_VERSION} from crates.io into ${root} (once; takes 2-3 minutes) ...`);
    await runCommand(
      'cargo',
      [
        'install',
        '--locked',
        `dynoxide-rs@${DYNOXIDE_VERSION}`,
        '--no-default-features',
        '--features',
        'native-sqlite,http-server,cli',
        '--root',
        root,
      ],
      { timeoutMs: 30 * 60_000, inherit: true },
    );
  }
  const wanted = readFileSync(MINISTACK_REQUIREMENTS, 'utf8');
  const installed = existsSync(MINISTACK_MARKER) ? readFileSync(MINISTACK_MARKER, 'utf8') : undefined;
  if (installed !== wanted || !existsSync(path.join(MINISTACK_VENV, 'bin', 'python'))) {
    log('installing MiniStack into local/.devstack/ministack-venv (cached by pip) ...');
    if (!existsSync(path.join(MINISTACK_VENV, 'bin', 'python'))) {
      await runCommand('python3', ['-m', 'venv', MINISTACK_VENV]);
    }
    await runCommand(
      path.join(MINISTACK_VENV, 'bin', 'python'),
      ['-m', 'pip', 'install', '--disable-pip-version-check', '--progress-bar', 'off', '-r', MINISTACK_REQUIREMENTS],
      { timeoutMs: 15 * 60_000, inherit: true },
    );
    writeFileSync(MINISTACK_MARKER, wanted);
  }
}

function dynamodbSpec(): ProcessSpec {
  return {
    name: 'dynamodb',
    command: dynoxideBinary(),
    args: [
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      String(EMULATOR_PORTS.dynamodb),
      '--db-path',
      path.join(DYNAMODB_DATA, 'orderflow.db'),
      '--log',
      'quiet',
    ],
    marker: MARKERS.dynamodb,
  };
}

/** How MiniStack is started; `env` overrides its variables (the integration test runs a second, capped one). */
export function ministackSpec(env: Readonly<Record<string, string>> = {}): ProcessSpec {
  return {
    name: 'ministack',
    command: path.join(MINISTACK_VENV, 'bin', 'python'),
    args: [MINISTACK_LAUNCHER],
    env: {
      ...process.env,
      SERVICES: 'sqs,events,ses',
      BIND_HOST: '127.0.0.1',
      GATEWAY_PORT: String(EMULATOR_PORTS.ministack),
      LOG_LEVEL: 'WARNING',
      // Queues with their messages, the bus and rules, SES identities and templates survive a restart.
      PERSIST_STATE: '1',
      STATE_DIR: MINISTACK_DATA,
      ORDERFLOW_EMULATOR_LOG_CAP: process.env.ORDERFLOW_EMULATOR_LOG_CAP ?? String(DEFAULT_LOG_CAP),
      ...env,
    },
    marker: MARKERS.ministack,
  };
}

/**
 * How the Glue Schema Registry emulator (`local/glue-registry/`) is started: Node with tsx, as `npm run dev` is;
 * it needs nothing installed beyond node_modules.
 */
export function glueSpec(): ProcessSpec {
  return {
    name: 'glue',
    command: process.execPath,
    args: [
      '--import',
      'tsx',
      GLUE_SERVER_SCRIPT,
      '--port',
      String(EMULATOR_PORTS.glue),
      '--data',
      path.join(GLUE_DATA, 'registry.json'),
    ],
    cwd: REPO_ROOT,
    marker: MARKERS.glue,
  };
}

/** Starts the emulators (installing what is missing) and waits until each answers. */
export async function startEmulators(log: Log): Promise<void> {
  mkdirSync(DYNAMODB_DATA, { recursive: true });
  mkdirSync(MINISTACK_DATA, { recursive: true });
  mkdirSync(GLUE_DATA, { recursive: true });
  await installEmulators(log);
  await Promise.all([
    ensureStarted(dynamodbSpec(), EMULATOR_PORTS.dynamodb, log),
    ensureStarted(ministackSpec(), EMULATOR_PORTS.ministack, log),
    ensureStarted(glueSpec(), EMULATOR_PORTS.glue, log),
  ]);
  await Promise.all([
    waitFor(
      `Dynoxide on ${EMULATOR_URLS.dynamodb}`,
      async () => (await dynamodbHealth(EMULATOR_URLS.dynamodb)).healthy,
      {
        timeoutMs: 30_000,
        log: logFile('dynamodb'),
      },
    ),
    waitFor(
      `MiniStack on ${EMULATOR_URLS.default}`,
      async () => (await ministackHealth(EMULATOR_URLS.default)).healthy,
      { timeoutMs: 60_000, log: logFile('ministack') },
    ),
    waitFor(`the Glue emulator on ${EMULATOR_URLS.glue}`, async () => (await glueHealth(EMULATOR_URLS.glue)).healthy, {
      timeoutMs: 30_000,
      log: logFile('glue'),
    }),
  ]);
}

/** Stops the emulators (MiniStack writes its state on SIGTERM); `wipe` deletes their data. */
export async function stopEmulators(log: Log, options: { wipe: boolean }): Promise<void> {
  for (const spec of [ministackSpec(), dynamodbSpec(), glueSpec()]) {
    if (await stopProcess(spec.name, spec.marker, 20_000)) log(`stopped ${spec.name}`);
  }
  if (options.wipe) {
    rmSync(DYNAMODB_DATA, { recursive: true, force: true });
    rmSync(MINISTACK_DATA, { recursive: true, force: true });
    rmSync(GLUE_DATA, { recursive: true, force: true });
  }
}

/** Memory of each emulator process. */
export function emulatorProcesses(): ServiceProcess[] {
  return [dynamodbSpec(), ministackSpec(), glueSpec()].map((spec): ServiceProcess => {
    const pid = runningPid(spec.name, spec.marker);
    return { service: spec.name, pid, rssBytes: pid === undefined ? 0 : treeRssBytes(pid) };
  });
}
