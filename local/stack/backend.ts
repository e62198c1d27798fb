/**
 * The two ways to run the local stack behind the same commands: Docker Compose when an engine answers, else the
 * no-Docker backend (Maven Central jars + a Python venv). `stack:up` records the one it started in
 * `local/.devstack/state.json`; `stack:down`, `stack:status` and the integration tests read it from there.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { type BackendName, DEVSTACK_DIR, readStackState, STATE_FILE, type StackState } from './config.js';
import { dockerBackend, dockerEngineAnswers } from './docker.js';
import type { ServiceHealth } from './health.js';
import { missingNativePrerequisites, nativeBackend } from './native.js';

/** Progress output of the CLI. */
export type Log = (message: string) => void;

/** Memory of one service of the running stack. */
export interface ServiceProcess {
  readonly service: string;
  /** Host pid (no-Docker backend); undefined for containers or when not running. */
  readonly pid?: number;
  /** Resident memory in bytes (containers: as `docker stats` reports it). */
  readonly rssBytes: number;
}

/** One way of running Kafka, the registry and the AWS emulator. */
export interface Backend {
  readonly name: BackendName;
  /** Where this backend's Confluent-compatible registry answers. */
  readonly schemaRegistryUrl: string;
  /** Downloads what the services need (Maven artifacts and the venv, or the images), starting nothing. */
  install(log: Log): Promise<void>;
  /** Installs what is missing, starts every service and waits until each answers. */
  start(log: Log): Promise<void>;
  /** Stops every service; `wipe` also deletes their data. */
  stop(log: Log, options: { wipe: boolean }): Promise<void>;
  /** Stops only the broker (used to prove the producer survives a broker restart). */
  stopKafka(): Promise<void>;
  /** Starts the broker again and waits until it answers. */
  startKafka(): Promise<void>;
  /** Memory of each service. */
  processes(): Promise<ServiceProcess[]>;
  /** Health of services beyond Kafka, registry and emulator (Redpanda Console). */
  extraServices(): Promise<ServiceHealth[]> | ServiceHealth[];
}

/** The backend by name. */
export function backendNamed(name: BackendName): Backend {
  return name === 'docker' ? dockerBackend : nativeBackend;
}

/**
 * The backend `stack:up` should use: `ORDERFLOW_STACK_BACKEND` when set, else Docker when an engine answers,
 * else the no-Docker backend when Java, Maven and Python are there; else throws naming what is missing.
 */
export async function chooseBackend(env: NodeJS.ProcessEnv = process.env): Promise<Backend> {
  const forced = env.ORDERFLOW_STACK_BACKEND;
  if (forced === 'docker' || forced === 'native') return backendNamed(forced);
  if (forced) throw new Error(`ORDERFLOW_STACK_BACKEND must be docker or native, got '${forced}'`);
  if (await dockerEngineAnswers()) return dockerBackend;
  const missing = await missingNativePrerequisites();
  if (missing.length === 0) return nativeBackend;
  throw new Error(
    [
      'cannot start the local stack: no Docker engine answers (`docker info` failed) and the no-Docker backend is missing:',
      ...missing.map((m) => `  - ${m}`),
      'Start Docker, or install the above, then run npm run stack:up again.',
    ].join('\n'),
  );
}

/** The backend of the running stack, from the state `stack:up` recorded. */
export function currentBackend(): Backend | undefined {
  const state = readStackState();
  return state ? backendNamed(state.backend) : undefined;
}

/** Records which backend runs, for the other commands and tools. */
export function recordStackState(backend: Backend): StackState {
  const state: StackState = {
    backend: backend.name,
    schemaRegistryUrl: backend.schemaRegistryUrl,
    startedAt: new Date().toISOString(),
  };
  mkdirSync(DEVSTACK_DIR, { recursive: true });
  writeFileSync(STATE_FILE, `${JSON.stringify(state, null, 2)}\n`);
  return state;
}

/** Forgets the running stack. */
export function clearStackState(): void {
  rmSync(STATE_FILE, { force: true });
}

/** Stops the broker of the running stack (integration tests). */
export async function stopKafka(): Promise<void> {
  await requireBackend().stopKafka();
}

/** Starts the broker of the running stack again and waits until it answers (integration tests). */
export async function startKafka(): Promise<void> {
  await requireBackend().startKafka();
}

function requireBackend(): Backend {
  const backend = currentBackend();
  if (!backend) throw new Error('no local stack is running: start it with npm run stack:up');
  return backend;
}
