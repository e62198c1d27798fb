/**
 * The Docker backend: `local/docker-compose.yml` (Apache Kafka in KRaft mode, Redpanda's schema registry,
 * Redpanda Console), driven through `docker compose`; compose's own health checks gate `up --wait`. The AWS
 * emulators are the same host processes as in the no-Docker backend (`emulators.ts`), so both backends run
 * the very same DynamoDB, SQS, EventBridge and SES.
 */
import path from 'node:path';
import type { Backend, ServiceProcess } from './backend.js';
import { REGISTRY_URLS, REPO_ROOT } from './config.js';
import {
  emulatorProcesses,
  installEmulators,
  missingEmulatorPrerequisites,
  startEmulators,
  stopEmulators,
} from './emulators.js';
import { httpHealth, kafkaHealth } from './health.js';
import { runCommand, waitFor } from './processes.js';

/** The compose file. */
export const COMPOSE_FILE = path.join(REPO_ROOT, 'local', 'docker-compose.yml');

/** Redpanda Console, the Kafka UI of the Docker backend. */
export const CONSOLE_URL = 'http://127.0.0.1:8080';

/** Whether a Docker engine answers (`docker info`), not merely whether the client is installed. */
export async function dockerEngineAnswers(): Promise<boolean> {
  try {
    await runCommand('docker', ['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 10_000 });
    return true;
  } catch {
    return false;
  }
}

function compose(args: readonly string[], timeoutMs = 10 * 60_000): Promise<string> {
  return runCommand('docker', ['compose', '-f', COMPOSE_FILE, ...args], { timeoutMs });
}

/** Parses `docker stats` memory such as `312.4MiB / 23.5GiB` into bytes. */
export function parseDockerMemory(usage: string): number {
  const match = /^\s*([\d.]+)\s*([KMGT]?i?B)/i.exec(usage);
  if (!match?.[1] || !match[2]) return 0;
  const units: Record<string, number> = {
    B: 1,
    KB: 1e3,
    MB: 1e6,
    GB: 1e9,
    TB: 1e12,
    KIB: 1024,
    MIB: 1024 ** 2,
    GIB: 1024 ** 3,
    TIB: 1024 ** 4,
  };
  return Math.round(Number(match[1]) * (units[match[2].toUpperCase()] ?? 1));
}

/** The Docker Compose backend. */
export const dockerBackend: Backend = {
  name: 'docker',
  schemaRegistryUrl: REGISTRY_URLS.docker,

  async install(log) {
    log('pulling the compose images ...');
    await compose(['pull', '--quiet']);
    await installEmulators(log);
  },

  async start(log) {
    const missing = await missingEmulatorPrerequisites();
    if (missing.length > 0) throw new Error(`the AWS emulators need: ${missing.join('; ')}`);
    log('starting the compose stack (docker compose up --wait) ...');
    await Promise.all([compose(['up', '--detach', '--wait', '--wait-timeout', '180']), startEmulators(log)]);
  },

  async stop(log, options) {
    await compose(options.wipe ? ['down', '--volumes', '--remove-orphans'] : ['down', '--remove-orphans']);
    log(options.wipe ? 'stopped the compose stack and removed its volumes' : 'stopped the compose stack');
    await stopEmulators(log, options);
  },

  async stopKafka() {
    await compose(['stop', 'kafka']);
  },

  async startKafka() {
    await compose(['start', 'kafka']);
    await waitFor('Kafka on 127.0.0.1:9092', async () => (await kafkaHealth(['127.0.0.1:9092'], 2_000)).healthy, {
      timeoutMs: 90_000,
    });
  },

  async processes() {
    const ids = (await compose(['ps', '--quiet'])).split('\n').filter(Boolean);
    if (ids.length === 0) return emulatorProcesses();
    const out = await runCommand('docker', ['stats', '--no-stream', '--format', '{{.Name}}\t{{.MemUsage}}', ...ids]);
    return out
      .split('\n')
      .filter(Boolean)
      .map((line): ServiceProcess => {
        const [name = '', usage = ''] = line.split('\t');
        return { service: name, rssBytes: parseDockerMemory(usage) };
      })
      .concat(emulatorProcesses());
  },

  async extraServices() {
    return [await httpHealth('redpanda-console', CONSOLE_URL)];
  },
};
