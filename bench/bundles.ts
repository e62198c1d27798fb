/**
 * `npm run bench -- --bundles`: each function's handler bundled as the stack bundles it
 * (infra/constructs/orderflow-function.ts: ESM, minified, names kept, node24, `module,main`, the createRequire banner,
 * the AWS SDK bundled, no source maps, the same aliases), then per function the bundle size, the eight input packages that weigh most
 * in it (from esbuild's metafile) and the median time a fresh `node` takes to import it, with tracing off (the local
 * pipeline) and on (Lambda). Bundles and metafiles are written to `bench/results/bundles/`.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { BUNDLE_ALIASES, BUNDLE_SETTINGS, CREATE_REQUIRE_BANNER } from '../infra/bundle-options.js';
import { functionEnvironment } from '../shared/functions.js';
import { FUNCTION_NAMES, type FunctionName } from '../shared/topology.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'bench', 'results', 'bundles');
const IMPORTS = Number(process.env.BENCH_IMPORTS ?? 5);
/** The targets of issue 11 for the Kafka functions. */
const MAX_KIB = 500;
const MAX_IMPORT_MS = 100;

/**
 * Dummy values for every variable `fn`'s contract gives it (shared/functions.ts), so config loading passes;
 * nothing listens at the registry address, and no secret ARN is set, so a handler that reads or connects at import
 * shows up below.
 */
function dummyEnv(fn: FunctionName): Record<string, string> {
  return {
    ...functionEnvironment(fn, {
      kafka: {
        brokers: '127.0.0.1:1',
        auth: 'none',
        schemaRegistry: 'confluent',
        schemaRegistryUrl: 'http://127.0.0.1:1',
      },
      pollerMode: 'provisioned',
      tableName: (table) => `bench-${table}`,
      eventBusName: 'bench-bus',
      email: { sender: 'orders@example.com', confirmationTemplate: 'bench-c', cancellationTemplate: 'bench-x' },
      liveCallbackUrl: 'http://127.0.0.1:1/live',
    }),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    POWERTOOLS_SERVICE_NAME: 'bench',
    POWERTOOLS_METRICS_NAMESPACE: 'orderflow',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
  };
}

/**
 * Runs in the child: records every socket, datagram or fetch the import opens, imports the bundle and prints the
 * milliseconds it took and the connections as JSON.
 */
const CHILD = `
const { performance } = await import('node:perf_hooks');
const net = await import('node:net');
const dgram = await import('node:dgram');
const connections = [];
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const o = args[0];
  connections.push(typeof o === 'object' && o ? (o.host ?? '') + ':' + (o.port ?? o.path ?? '') : String(o) + ':' + String(args[1] ?? ''));
  return connect.apply(this, args);
};
const send = dgram.Socket.prototype.send;
dgram.Socket.prototype.send = function (...args) { connections.push('udp'); return send.apply(this, args); };
const fetch = globalThis.fetch;
globalThis.fetch = (input, init) => { connections.push(String(input)); return fetch(input, init); };
const started = performance.now();
const module = await import(process.argv[1]);
const ms = performance.now() - started;
if (typeof module.handler !== 'function') throw new Error('bundle exports no handler');
await new Promise((resolve) => setTimeout(resolve, 50)); // connections opened by promises the import left running
console.log(JSON.stringify({ ms, connections }));
process.exit(0);
`;

interface ImportRun {
  readonly ms: number;
  readonly connections: string[];
}

function importOnce(fn: FunctionName, bundle: string, traced: boolean): Promise<ImportRun> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...dummyEnv(fn) };
    env.POWERTOOLS_TRACE_ENABLED = traced ? 'true' : 'false';
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, pathToFileURL(bundle).href], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      err += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !line.startsWith('{')) {
        reject(new Error(`importing ${bundle} failed (exit ${code}): ${err.trim().slice(0, 2000)}`));
        return;
      }
      resolve(JSON.parse(line) as ImportRun);
    });
  });
}

/** `node_modules/@scope/name/...` → `@scope/name`; our own sources → `(orderflow)`. */
function packageOf(input: string): string {
  const at = input.lastIndexOf('node_modules/');
  if (at < 0) return '(orderflow)';
  const parts = input.slice(at + 'node_modules/'.length).split('/');
  return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? input);
}

function topPackages(meta: Metafile, output: string, n: number): [string, number][] {
  const bytes = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(meta.outputs[output]?.inputs ?? {})) {
    const name = packageOf(input);
    bytes.set(name, (bytes.get(name) ?? 0) + bytesInOutput);
  }
  return [...bytes].sort((a, b) => b[1] - a[1]).slice(0, n);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};
const kib = (bytes: number) => (bytes / 1024).toFixed(0);

/** Bundles every `functions/<name>/handler.ts`, then prints sizes, heaviest packages and import times. */
export async function runBundleBench(): Promise<void> {
  const functions = [...FUNCTION_NAMES].sort();
  const rows: { name: string; bytes: number; plain: number; traced: number; connections: string[] }[] = [];
  for (const name of functions) {
    const outfile = path.join(OUT, name, 'index.mjs');
    mkdirSync(path.dirname(outfile), { recursive: true });
    const result = await build({
      entryPoints: [path.join(ROOT, 'functions', name, 'handler.ts')],
      outfile,
      absWorkingDir: ROOT,
      bundle: true,
      platform: 'node',
      format: 'esm',
      ...BUNDLE_SETTINGS,
      mainFields: [...BUNDLE_SETTINGS.mainFields],
      banner: { js: CREATE_REQUIRE_BANNER },
      alias: { ...BUNDLE_ALIASES },
      metafile: true,
      logLevel: 'error',
    });
    const meta = result.metafile;
    writeFileSync(path.join(OUT, name, 'meta.json'), JSON.stringify(meta));
    const output = path.relative(ROOT, outfile);
    const bytes = meta.outputs[output]?.bytes ?? Number.NaN;
    // Fresh processes, alternating untraced and traced so a noisy neighbour slows both alike.
    const plain: number[] = [];
    const traced: number[] = [];
    const connections = new Set<string>();
    for (let i = 0; i < IMPORTS; i += 1) {
      for (const [list, on] of [
        [plain, false],
        [traced, true],
      ] as const) {
        const run = await importOnce(name, outfile, on);
        list.push(run.ms);
        for (const c of run.connections) connections.add(c);
      }
    }
    rows.push({ name, bytes, plain: median(plain), traced: median(traced), connections: [...connections] });
    console.log(`${name}: ${kib(bytes)} KiB minified`);
    for (const [pkg, b] of topPackages(meta, output, 8)) console.log(`    ${kib(b).padStart(5)} KiB  ${pkg}`);
  }
  console.log(
    `\nimport of the bundle in a fresh node ${process.version} (median of ${IMPORTS}); targets ${MAX_KIB} KiB, ${MAX_IMPORT_MS} ms`,
  );
  console.log('  function              KiB   import ms (tracing off / on)   connects at import');
  for (const r of rows) {
    const over = r.bytes / 1024 > MAX_KIB || r.plain > MAX_IMPORT_MS || r.traced > MAX_IMPORT_MS ? '  over' : '';
    console.log(
      `  ${r.name.padEnd(20)} ${kib(r.bytes).padStart(5)}   ${r.plain.toFixed(0).padStart(5)} / ${r.traced.toFixed(0).padStart(5)}${' '.repeat(18)}${r.connections.length > 0 ? r.connections.join(', ') : 'none'}${over}`,
    );
  }
}
