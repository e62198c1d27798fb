/**
 * `npm run stack:up | stack:status | stack:down [-- --wipe]` (plus `tsx local/stack/cli.ts install`): one CLI for
 * the local stack, with or without Docker. `up` starts the backend (Docker when an engine answers, else Maven
 * Central jars + a Python venv), waits until Kafka, the registry and the AWS emulator answer, then provisions
 * from the topology.
 */
import { provision } from '../provision/provision.js';
import {
  type Backend,
  backendNamed,
  chooseBackend,
  clearStackState,
  currentBackend,
  recordStackState,
} from './backend.js';
import { applyStackEnv, readStackState, stackConfig } from './config.js';
import { coreHealth, type ServiceHealth } from './health.js';
import { nativeBackend } from './native.js';

const log = (message: string) => console.log(`stack: ${message}`);

async function up(): Promise<number> {
  const started = Date.now();
  const state = readStackState();
  let backend: Backend;
  if (state && (await coreHealth(stackConfig())).every((s) => s.healthy)) {
    backend = backendNamed(state.backend);
    log(`the ${backend.name} stack is already running`);
  } else {
    backend = state ? backendNamed(state.backend) : await chooseBackend();
    log(`starting the ${backend.name === 'docker' ? 'Docker' : 'no-Docker'} backend ...`);
    await backend.start(log);
    recordStackState(backend);
  }
  const config = stackConfig();
  applyStackEnv(config);
  const health = await coreHealth(config);
  const unhealthy = health.filter((s) => !s.healthy);
  if (unhealthy.length > 0) {
    printHealth(health);
    throw new Error(
      `not answering: ${unhealthy.map((s) => `${s.service} at ${s.address}`).join(', ')}; check the variables above`,
    );
  }
  const changes = await provision(config, { log });
  const count = (action: string) => changes.filter((c) => c.action === action).length;
  log(
    `provisioned ${changes.length} resources: ${count('created')} created, ${count('updated')} updated, ${count('unchanged')} unchanged`,
  );
  log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  await status(config);
  return 0;
}

async function status(config = stackConfig()): Promise<number> {
  const state = readStackState();
  const backend = state ? backendNamed(state.backend) : undefined;
  console.log(`backend: ${state ? `${state.backend} (started ${state.startedAt})` : 'none started by stack:up'}`);
  console.log('configuration:');
  for (const [name, value] of [
    ['KAFKA_BROKERS', config.kafkaBrokers.join(',')],
    ['SCHEMA_REGISTRY_URL', config.schemaRegistryUrl],
    ['AWS_ENDPOINT_URL', config.awsEndpointUrl],
    ['AWS_ENDPOINT_URL_DYNAMODB', config.dynamodbEndpointUrl],
    ['AWS_ENDPOINT_URL_GLUE', config.glueEndpointUrl],
    ['AWS_REGION', config.awsRegion],
    ['ORDERFLOW_SCHEMA_REGISTRY', config.schemaRegistryMode],
  ] as const) {
    console.log(`  ${name.padEnd(26)} ${value.padEnd(39)} (${config.sources[name]})`);
  }
  const health = [...(await coreHealth(config)), ...(backend ? await backend.extraServices() : [])];
  printHealth(health);
  if (backend) {
    const processes = await backend.processes().catch(() => []);
    const total = processes.reduce((sum, p) => sum + p.rssBytes, 0);
    if (total > 0) {
      const parts = processes.map((p) => `${p.service} ${mib(p.rssBytes)}`).join(', ');
      console.log(`memory: ${mib(total)} (${parts})`);
    }
  }
  return health.every((s) => s.healthy) ? 0 : 1;
}

async function down(wipe: boolean): Promise<number> {
  const backend = currentBackend();
  if (backend) {
    await backend.stop(log, { wipe });
  } else {
    // No record of a running stack: still stop any no-Docker process whose pid file we left behind.
    await nativeBackend.stop(log, { wipe });
  }
  clearStackState();
  log(wipe ? 'stopped; data deleted' : 'stopped; data kept (use --wipe to delete it)');
  return 0;
}

/** Downloads what `up` will need without starting anything (CI caches it, or warms it before timing `up`). */
async function install(): Promise<number> {
  const backend = await chooseBackend();
  const started = Date.now();
  await backend.install(log);
  log(`${backend.name} backend installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

function printHealth(health: readonly ServiceHealth[]): void {
  console.log('services:');
  for (const s of health) {
    console.log(`  ${s.service.padEnd(20)} ${s.address.padEnd(45)} ${s.healthy ? 'healthy' : 'DOWN'}  ${s.detail}`);
  }
}

function mib(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MiB`;
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...flags] = argv;
  switch (command) {
    case 'up':
      return up();
    case 'status':
      return status();
    case 'down':
      return down(flags.includes('--wipe'));
    case 'install':
      return install();
    default:
      console.error('usage: tsx local/stack/cli.ts up | status | down [--wipe] | install');
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`stack: ${(error as Error).message}`);
    process.exit(1);
  },
);
