/**
 * The no-Docker backend: Apache Kafka 3.9 (single KRaft node) and Apicurio Registry 2.6 from their Maven Central
 * jars, plus the AWS emulators of `emulators.ts`. Everything binds 127.0.0.1; downloads stay in Maven's, pip's
 * and cargo's caches, installed copies and data in `local/.devstack/`.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Backend, Log, ServiceProcess } from './backend.js';
import { DEVSTACK_DIR, REGISTRY_URLS, REPO_ROOT } from './config.js';
import {
  emulatorProcesses,
  installEmulators,
  missingEmulatorPrerequisites,
  startEmulators,
  stopEmulators,
} from './emulators.js';
import { kafkaHealth, registryHealth } from './health.js';
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

const POM = path.join(REPO_ROOT, 'local', 'stack', 'pom.xml');
const KAFKA_HOME = path.join(DEVSTACK_DIR, 'kafka');
const APICURIO_HOME = path.join(DEVSTACK_DIR, 'apicurio');
const DATA_DIR = path.join(DEVSTACK_DIR, 'data');
const KAFKA_DATA = path.join(DATA_DIR, 'kafka');
const REGISTRY_DATA = path.join(DATA_DIR, 'registry');
const INSTALL_MARKER = path.join(DEVSTACK_DIR, 'installed.json');

/** Addresses the no-Docker services bind (loopback only). */
export const NATIVE_PORTS = { kafka: 9092, kafkaController: 9093, registry: 8081 } as const;

/** Marker in each JVM's command line, so `stack:down` only ever signals its own processes. */
const MARKERS = {
  kafka: '-Dorderflow.stack=kafka',
  registry: '-Dorderflow.stack=schema-registry',
} as const;

/** What the no-Docker backend needs on PATH, with how to get each, or [] when all are there. */
export async function missingNativePrerequisites(): Promise<string[]> {
  const missing: string[] = [];
  if (!(await javaAtLeast17())) {
    missing.push('Java 17+ (`java`): apt-get install openjdk-17-jre-headless, or https://adoptium.net');
  }
  if (!(await commandWorks('mvn', ['-v']))) missing.push('Maven 3.8+ (`mvn`): apt-get install maven');
  missing.push(...(await missingEmulatorPrerequisites()));
  return missing;
}

async function javaAtLeast17(): Promise<boolean> {
  // The JVM prints its settings on stderr.
  const result = spawnSync('java', ['-XshowSettings:properties', '-version'], { encoding: 'utf8', timeout: 20_000 });
  if (result.error || result.status !== 0) return false;
  const match = /java\.specification\.version = (\d+)/.exec(result.stderr);
  return match?.[1] !== undefined && Number(match[1]) >= 17;
}

/** Resolves the Maven artifacts unless the installed copies match the pinned POM, then the emulators. */
async function install(log: Log): Promise<void> {
  const wanted = { pom: hashFile(POM) };
  const installed = readJson<typeof wanted>(INSTALL_MARKER);
  const kafkaReady = existsSync(path.join(KAFKA_HOME, 'libs')) && installed?.pom === wanted.pom;
  const apicurioReady = existsSync(apicurioRunner()) && installed?.pom === wanted.pom;
  if (!kafkaReady || !apicurioReady) {
    log('resolving Kafka and Apicurio Registry from Maven Central (cached in ~/.m2) ...');
    rmSync(path.join(KAFKA_HOME, 'libs'), { recursive: true, force: true });
    rmSync(APICURIO_HOME, { recursive: true, force: true });
    rmSync(path.join(DEVSTACK_DIR, 'maven'), { recursive: true, force: true });
    await runCommand(
      'mvn',
      [
        // Batch mode without -q: each download is printed, so a first start shows its progress.
        '-B',
        '-f',
        POM,
        'dependency:copy-dependencies@kafka-libs',
        'dependency:unpack@apicurio',
        `-Ddevstack.dir=${DEVSTACK_DIR}`,
      ],
      { timeoutMs: 15 * 60_000, inherit: true },
    );
  }
  writeFileSync(INSTALL_MARKER, `${JSON.stringify(wanted, null, 2)}\n`);
  await installEmulators(log);
}

function apicurioRunner(): string {
  const version = /<apicurio\.version>([^<]+)</.exec(readFileSync(POM, 'utf8'))?.[1] ?? '';
  return path.join(APICURIO_HOME, `apicurio-registry-app-${version}-runner.jar`);
}

function kafkaSpec(): ProcessSpec {
  return {
    name: 'kafka',
    command: 'java',
    args: [
      MARKERS.kafka,
      // One broker for a laptop's traffic: 256 MiB of heap is plenty (issue 20's loads peaked at 466 MiB RSS with
      // 512, the serial collector growing the heap to its limit before collecting) and keeps the stack + dev process
      // under 2 GiB.
      '-Xms128m',
      '-Xmx256m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-Djava.awt.headless=true',
      `-Dlog4j.configuration=file:${path.join(KAFKA_HOME, 'log4j.properties')}`,
      '-cp',
      `${path.join(KAFKA_HOME, 'libs')}/*`,
      'kafka.Kafka',
      path.join(KAFKA_HOME, 'server.properties'),
    ],
    marker: MARKERS.kafka,
  };
}

function registrySpec(): ProcessSpec {
  return {
    name: 'schema-registry',
    command: 'java',
    args: [
      MARKERS.registry,
      '-Xms64m',
      '-Xmx256m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-Dquarkus.http.host=127.0.0.1',
      `-Dquarkus.http.port=${NATIVE_PORTS.registry}`,
      '-Dquarkus.datasource.jdbc.min-size=1',
      '-Dquarkus.datasource.jdbc.initial-size=1',
      '-jar',
      apicurioRunner(),
    ],
    cwd: APICURIO_HOME,
    // H2 in a file instead of in memory, so registered schemas (and their ids) survive a restart.
    env: { ...process.env, REGISTRY_DATASOURCE_URL: `jdbc:h2:file:${path.join(REGISTRY_DATA, 'registry')}` },
    marker: MARKERS.registry,
  };
}

/** server.properties of the single combined broker + controller; no auto-created topics, as on MSK. */
function writeKafkaConfig(): void {
  mkdirSync(KAFKA_HOME, { recursive: true });
  const { kafka, kafkaController } = NATIVE_PORTS;
  writeFileSync(
    path.join(KAFKA_HOME, 'server.properties'),
    [
      '# Written by local/stack/native.ts on every start; edit there.',
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${kafkaController}`,
      `listeners=PLAINTEXT://127.0.0.1:${kafka},CONTROLLER://127.0.0.1:${kafkaController}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${kafka}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${KAFKA_DATA}`,
      'num.partitions=1',
      'auto.create.topics.enable=false',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=10',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'transaction.state.log.num.partitions=5',
      'group.initial.rebalance.delay.ms=0',
      'num.network.threads=2',
      'num.io.threads=4',
      'log.retention.check.interval.ms=300000',
      '',
    ].join('\n'),
  );
  writeFileSync(
    path.join(KAFKA_HOME, 'log4j.properties'),
    [
      'log4j.rootLogger=WARN, stdout',
      'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
      'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
      'log4j.logger.kafka.server.KafkaRaftServer=INFO',
      'log4j.logger.kafka.server.BrokerServer=INFO',
      '',
    ].join('\n'),
  );
}

/** Formats the KRaft metadata log once; a formatted directory keeps its cluster id across restarts. */
async function formatKafkaStorage(log: Log): Promise<void> {
  if (existsSync(path.join(KAFKA_DATA, 'meta.properties'))) return;
  mkdirSync(KAFKA_DATA, { recursive: true });
  const clusterId = Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64url');
  log(`formatting Kafka storage (cluster ${clusterId}) ...`);
  await runCommand('java', [
    '-Xmx128m',
    `-Dlog4j.configuration=file:${path.join(KAFKA_HOME, 'log4j.properties')}`,
    '-cp',
    `${path.join(KAFKA_HOME, 'libs')}/*`,
    'kafka.tools.StorageTool',
    'format',
    '-t',
    clusterId,
    '-c',
    path.join(KAFKA_HOME, 'server.properties'),
    '--ignore-formatted',
  ]);
}

async function startKafka(log: Log): Promise<void> {
  writeKafkaConfig();
  await formatKafkaStorage(log);
  await ensureStarted(kafkaSpec(), NATIVE_PORTS.kafka, log);
}

async function waitForKafka(): Promise<void> {
  await waitFor(
    'Kafka on 127.0.0.1:9092',
    async () => (await kafkaHealth([`127.0.0.1:${NATIVE_PORTS.kafka}`], 2_000)).healthy,
    {
      timeoutMs: 90_000,
      log: logFile('kafka'),
    },
  );
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function hashFile(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** The no-Docker backend. */
export const nativeBackend: Backend = {
  name: 'native',
  schemaRegistryUrl: REGISTRY_URLS.native,

  async install(log) {
    mkdirSync(DEVSTACK_DIR, { recursive: true });
    await install(log);
  },

  async start(log) {
    mkdirSync(DEVSTACK_DIR, { recursive: true });
    mkdirSync(REGISTRY_DATA, { recursive: true });
    await install(log);
    await Promise.all([startKafka(log), ensureStarted(registrySpec(), NATIVE_PORTS.registry, log)]);
    await Promise.all([
      startEmulators(log),
      waitForKafka(),
      waitFor(
        'Apicurio Registry on 127.0.0.1:8081',
        async () => (await registryHealth(REGISTRY_URLS.native, 2_000)).healthy,
        {
          timeoutMs: 120_000,
          log: logFile('schema-registry'),
        },
      ),
    ]);
  },

  async stop(log, options) {
    await stopEmulators(log, options);
    for (const spec of [registrySpec(), kafkaSpec()]) {
      if (await stopProcess(spec.name, spec.marker, 20_000)) log(`stopped ${spec.name}`);
    }
    if (options.wipe) {
      rmSync(DATA_DIR, { recursive: true, force: true });
      log(`deleted ${path.relative(REPO_ROOT, DATA_DIR)} (Kafka log, registry database, DynamoDB tables, queues)`);
    }
  },

  async stopKafka() {
    await stopProcess('kafka', MARKERS.kafka, 30_000);
  },

  async startKafka() {
    await startKafka(() => undefined);
    await waitForKafka();
  },

  async processes() {
    const specs = [kafkaSpec(), registrySpec()];
    return [
      ...specs.map((spec): ServiceProcess => {
        const pid = runningPid(spec.name, spec.marker);
        return { service: spec.name, pid, rssBytes: pid === undefined ? 0 : treeRssBytes(pid) };
      }),
      ...emulatorProcesses(),
    ];
  },

  extraServices() {
    return [];
  },
};
