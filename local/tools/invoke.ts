/**
 * `npm run invoke -- <function> <event.json>`: runs one function's bundle, exactly as `cdk synth` built it, under
 * Lambda's own Runtime Interface Emulator (RIE) and the Node.js runtime interface client (`aws-lambda-ric`, the
 * code of Lambda's managed Node.js runtime), with no Docker engine. The bundle and its environment come from the
 * synthesized template; the deploy-time values are replaced by the local stack's (`local/sam-env.json`, then the
 * running stack's addresses). Prints the function's response on stdout and its logs on stderr.
 *
 * RIE: https://github.com/aws/aws-lambda-runtime-interface-emulator (built once from the Go module proxy and
 * cached like Dynoxide). Runtime API it serves: https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { functionLogicalId } from '../../infra/orderflow-stack.js';
import { FUNCTION_NAMES, type FunctionName } from '../../shared/topology.js';
import { REPO_ROOT, stackConfig, stackEnv } from '../stack/config.js';
import { toolCacheDir } from '../stack/emulators.js';
import { freePort, portOpen, runCommand, waitFor } from '../stack/processes.js';

/** Go module of Lambda's Runtime Interface Emulator and its main package. */
export const RIE_MODULE = 'github.com/aws/aws-lambda-runtime-interface-emulator';
/**
 * Pinned RIE version. The repository's tags (`v1.x`) are not semantic versions, so the Go module proxy serves
 * it by pseudo-version only: this is the commit of 2026-10-30 (`go list -m ...@latest`).
 */
export const RIE_VERSION = 'v0.0.0-20261030222936-bef5c4ba774d';

/** The stack's template in the cloud assembly `npm run synth` writes. */
export const ASSEMBLY_DIR = path.join(REPO_ROOT, 'cdk.out');
const TEMPLATE_NAME = 'Orderflow.template.json';
const SAM_ENV_FILE = path.join(REPO_ROOT, 'local', 'sam-env.json');

/** What the template says about one function. */
export interface TemplateFunction {
  readonly name: FunctionName;
  readonly logicalId: string;
  /** The bundle's directory (`cdk.out/asset.<hash>`). */
  readonly assetDir: string;
  /** `index.handler`. */
  readonly handler: string;
  /** `nodejs24.x`. */
  readonly runtime: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** The template's variables, as synthesized (`Ref`, `Fn::*` and dynamic references unresolved). */
  readonly variables: Readonly<Record<string, unknown>>;
}

interface TemplateResource {
  readonly Type?: string;
  readonly Metadata?: Record<string, unknown>;
  readonly Properties?: {
    readonly Handler?: string;
    readonly Runtime?: string;
    readonly Timeout?: number;
    readonly MemorySize?: number;
    readonly Environment?: { readonly Variables?: Record<string, unknown> };
  };
}

/** Checks a command-line function name; throws listing the known ones. */
export function parseFunctionName(value: string | undefined): FunctionName {
  if (value && (FUNCTION_NAMES as readonly string[]).includes(value)) return value as FunctionName;
  throw new Error(`unknown function ${JSON.stringify(value)}; one of: ${FUNCTION_NAMES.join(', ')}`);
}

/**
 * Finds a function in a synthesized template: its bundle through the asset metadata CDK writes for
 * `sam local invoke` (`aws:asset:path`, `aws:asset:property: Code`), its handler, limits and variables.
 */
export function functionFromTemplate(template: unknown, assemblyDir: string, name: FunctionName): TemplateFunction {
  const logicalId = functionLogicalId(name);
  const resources = (template as { Resources?: Record<string, TemplateResource> }).Resources ?? {};
  const resource = resources[logicalId];
  if (resource?.Type !== 'AWS::Lambda::Function') {
    throw new Error(`template has no AWS::Lambda::Function ${logicalId} (for ${name}), got ${resource?.Type}`);
  }
  const assetPath = resource.Metadata?.['aws:asset:path'];
  if (typeof assetPath !== 'string' || resource.Metadata?.['aws:asset:property'] !== 'Code') {
    throw new Error(
      `${logicalId} has no bundle in the template's asset metadata (aws:asset:path ${JSON.stringify(assetPath)}); synthesize with bundling and asset metadata on (\`npm run synth\`)`,
    );
  }
  const props = resource.Properties ?? {};
  if (!props.Handler || !props.Runtime?.startsWith('nodejs')) {
    throw new Error(`${logicalId} is not a Node.js function: handler ${props.Handler}, runtime ${props.Runtime}`);
  }
  return {
    name,
    logicalId,
    assetDir: path.resolve(assemblyDir, assetPath),
    handler: props.Handler,
    runtime: props.Runtime,
    timeoutSeconds: props.Timeout ?? 3,
    memoryMb: props.MemorySize ?? 128,
    variables: props.Environment?.Variables ?? {},
  };
}

/**
 * The environment the function runs with, like `sam local invoke --env-vars local/sam-env.json`: the function's
 * entry there (generated from the template by `local/tools/sam-env.ts`, deploy-time values replaced by local ones and
 * deploy-only ones such as registry credentials left out; a unit test keeps it in step with the stack), then the
 * running stack's addresses, region and dummy credentials (`stackEnv`), then what Lambda itself sets in every
 * execution environment.
 */
export function invokeEnvironment(
  fn: TemplateFunction,
  samEnv: Readonly<Record<string, Readonly<Record<string, string>>>>,
  stack: Readonly<Record<string, string>>,
): Record<string, string> {
  const local = samEnv[fn.logicalId];
  if (!local) {
    throw new Error(`local/sam-env.json has no ${fn.logicalId}; regenerate it with \`npm run sam-env\``);
  }
  // The stack's addresses replace the function's own variables only; AWS_* (endpoints, region, credentials) all get.
  const overrides = Object.fromEntries(Object.entries(stack).filter(([key]) => key in local || key.startsWith('AWS_')));
  return {
    ...local,
    ...overrides,
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_FUNCTION_TIMEOUT: String(fn.timeoutSeconds),
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
    AWS_DEFAULT_REGION: stack.AWS_REGION ?? 'us-east-1',
    LAMBDA_TASK_ROOT: fn.assetDir,
    _HANDLER: fn.handler,
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
  };
}

/** The template's variables the function does not get locally (deploy-only ones), for the log. */
export function deployOnlyVariables(fn: TemplateFunction, env: Readonly<Record<string, string>>): string[] {
  return Object.keys(fn.variables)
    .filter((key) => !(key in env))
    .sort();
}

/** Newest modification time (ms) of the files under `paths`, skipping tests, node_modules and cdk.out. */
export function newestSourceMtime(paths: readonly string[]): number {
  let newest = 0;
  const visit = (p: string) => {
    if (!existsSync(p)) return;
    const stat = statSync(p);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(p)) {
        if (entry === 'node_modules' || entry === 'cdk.out' || entry.startsWith('.')) continue;
        visit(path.join(p, entry));
      }
    } else if (!/\.test\.ts$/.test(p)) {
      newest = Math.max(newest, stat.mtimeMs);
    }
  };
  for (const p of paths) visit(p);
  return newest;
}

/** What a synth reads: `cdk.json`'s watch list plus the lock file (a dependency bump changes the bundles). */
const SYNTH_INPUTS = ['infra', 'functions', 'shared', 'cdk.json', 'package-lock.json'].map((p) =>
  path.join(REPO_ROOT, p),
);

/**
 * The template of `cdk.out`, synthesized again with `npx cdk synth` unless it is newer than every input.
 * Parameters the developer has not set get placeholders: their deploy-time values never reach the function.
 */
export async function ensureTemplate(log: (message: string) => void): Promise<unknown> {
  const file = path.join(ASSEMBLY_DIR, TEMPLATE_NAME);
  if (existsSync(file) && statSync(file).mtimeMs > newestSourceMtime(SYNTH_INPUTS)) {
    log(`reusing ${path.relative(process.cwd(), file)} (newer than infra/, functions/, shared/)`);
  } else {
    log('synthesizing the stack with bundles (npx cdk synth) ...');
    const started = Date.now();
    await runCommand('npx', ['cdk', 'synth', '--quiet'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        ORDERFLOW_SENDER_EMAIL: process.env.ORDERFLOW_SENDER_EMAIL || 'Orderflow <orders@example.com>',
        ORDERFLOW_SCHEMA_REGISTRY_URL: process.env.ORDERFLOW_SCHEMA_REGISTRY_URL || 'https://registry.example.com',
        ORDERFLOW_ALARM_EMAIL: process.env.ORDERFLOW_ALARM_EMAIL || 'ops@example.com',
      },
      timeoutMs: 10 * 60_000,
      inherit: true,
    });
    log(`synthesized in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** Path of the RIE binary of the pinned version in the tool cache. */
export function rieBinary(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(toolCacheDir(env), `aws-lambda-rie-${RIE_VERSION}`, 'bin', 'aws-lambda-rie');
}

/** Builds RIE with `go install` from the Go module proxy (about a minute, once), unless it is cached. */
export async function ensureRie(log: (message: string) => void): Promise<string> {
  const binary = rieBinary();
  if (existsSync(binary)) return binary;
  log(`building the Lambda Runtime Interface Emulator ${RIE_VERSION} with go into ${path.dirname(binary)} (once) ...`);
  const started = Date.now();
  await runCommand('go', ['install', `${RIE_MODULE}/cmd/aws-lambda-rie@${RIE_VERSION}`], {
    env: { ...process.env, GOBIN: path.dirname(binary), CGO_ENABLED: '0' },
    timeoutMs: 15 * 60_000,
    inherit: true,
  }).catch((error: Error) => {
    throw new Error(`building RIE failed (needs Go 1.26+ and the Go module proxy): ${error.message}`, {
      cause: error,
    });
  });
  log(`built RIE in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return binary;
}

/**
 * The Node.js runtime interface client, pinned. It compiles a native add-on when installed (about a minute), which
 * only `npm run invoke` needs, so `npm ci` leaves it out and `ensureRic` installs it into the tool cache once.
 */
export const RIC_VERSION = '4.0.2';

/** The folder `aws-lambda-ric` is installed into (an npm prefix of its own in the tool cache). */
export function ricPrefix(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(toolCacheDir(env), `aws-lambda-ric-${RIC_VERSION}`);
}

/** The runtime interface client's entry (`aws-lambda-ric`'s `index.mjs`), which RIE starts as the runtime. */
export function ricEntry(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(ricPrefix(env), 'node_modules', 'aws-lambda-ric', 'index.mjs');
}

/** Installs `aws-lambda-ric` into its prefix with npm (once; its native build needs make, cmake and a C++ compiler). */
export async function ensureRic(log: (message: string) => void): Promise<string> {
  const entry = ricEntry();
  if (existsSync(entry)) return entry;
  const prefix = ricPrefix();
  log(`installing aws-lambda-ric ${RIC_VERSION} into ${prefix} (once; it compiles a native add-on) ...`);
  const started = Date.now();
  mkdirSync(prefix, { recursive: true });
  // The prefix's own manifest allows the one install script it runs (npm's allowScripts, as package.json does).
  writeFileSync(
    path.join(prefix, 'package.json'),
    `${JSON.stringify({ private: true, allowScripts: { 'aws-lambda-ric': true } }, null, 2)}\n`,
  );
  await runCommand(
    'npm',
    ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--no-save', `aws-lambda-ric@${RIC_VERSION}`],
    { timeoutMs: 15 * 60_000, inherit: true },
  ).catch((error: Error) => {
    throw new Error(
      `installing aws-lambda-ric failed (its native build needs make, cmake, a C++ compiler and Python 3): ${error.message}`,
      { cause: error },
    );
  });
  log(`installed aws-lambda-ric in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return entry;
}

/** What one invocation returned. */
export interface InvocationResult {
  /** The function's response, parsed when it is JSON. */
  readonly response: unknown;
  /** Whether the function failed (RIE answers the error document then). */
  readonly failed: boolean;
  /** What RIE, the runtime and the function wrote (the function's logs), in order. */
  readonly logs: string;
}

/**
 * Starts RIE with the runtime interface client on free loopback ports, sends one event through RIE's invoke
 * endpoint (the one the Lambda service uses), and stops it. `onLog` sees each log chunk as it is written.
 */
export async function invokeOnce(options: {
  readonly fn: TemplateFunction;
  readonly env: Readonly<Record<string, string>>;
  readonly event: unknown;
  readonly rie: string;
  readonly ric: string;
  readonly onLog?: (chunk: string) => void;
}): Promise<InvocationResult> {
  const [runtimePort, invokePort] = [await freePort(), await freePort()];
  let logs = '';
  const child: ChildProcess = spawn(
    options.rie,
    [
      '--runtime-api-address',
      `127.0.0.1:${runtimePort}`,
      '--runtime-interface-emulator-address',
      `127.0.0.1:${invokePort}`,
      process.execPath,
      options.ric,
      options.fn.handler,
    ],
    // Like /var/task in Lambda: the working directory is the bundle's.
    { cwd: options.fn.assetDir, env: { ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const onData = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    logs += text;
    options.onLog?.(text);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await Promise.race([
      waitFor('the Runtime Interface Emulator', () => portOpen('127.0.0.1', invokePort), { timeoutMs: 15_000 }),
      exited.then(() => {
        throw new Error(`the Runtime Interface Emulator exited before listening:\n${logs}`);
      }),
    ]);
    // https://github.com/aws/aws-lambda-runtime-interface-emulator#testing-an-image-without-adding-rie-to-the-image
    const answer = await fetch(`http://127.0.0.1:${invokePort}/2015-03-31/functions/function/invocations`, {
      method: 'POST',
      body: JSON.stringify(options.event),
      signal: AbortSignal.timeout((options.fn.timeoutSeconds + 30) * 1000),
    });
    const body = await answer.text();
    let response: unknown = body;
    try {
      response = JSON.parse(body);
    } catch {
      // Not JSON: print it as it came.
    }
    const failed =
      !answer.ok ||
      (typeof response === 'object' && response !== null && 'errorType' in response && 'errorMessage' in response);
    // Let the last log lines of the invocation arrive before stopping.
    await new Promise((resolve) => setTimeout(resolve, 200));
    return { response, failed, logs };
  } finally {
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3_000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** Reads `local/sam-env.json`. */
export function readSamEnv(file = SAM_ENV_FILE): Record<string, Record<string, string>> {
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, string>>;
}

/** The CLI: `invoke <function> <event.json>`; exit code 1 when the function failed. */
export async function main(argv: readonly string[]): Promise<number> {
  const [nameArg, eventArg] = argv;
  const log = (message: string) => process.stderr.write(`invoke: ${message}\n`);
  if (!nameArg || !eventArg) {
    log(`usage: npm run invoke -- <function> <event.json>   (functions: ${FUNCTION_NAMES.join(', ')})`);
    return 2;
  }
  const name = parseFunctionName(nameArg);
  const event = JSON.parse(readFileSync(path.resolve(eventArg), 'utf8')) as unknown;
  const rie = await ensureRie(log);
  const ric = await ensureRic(log);
  const template = await ensureTemplate(log);
  const fn = functionFromTemplate(template, ASSEMBLY_DIR, name);
  const env = invokeEnvironment(fn, readSamEnv(), stackEnv(stackConfig()));
  const deployOnly = deployOnlyVariables(fn, env);
  if (deployOnly.length > 0) log(`not set locally (deploy-time only): ${deployOnly.join(', ')}`);
  log(
    `${fn.logicalId}: ${path.relative(process.cwd(), fn.assetDir)}/${fn.handler} (${fn.runtime}) on Node.js ${process.version}`,
  );
  log(`--- logs (RIE ${RIE_VERSION}, aws-lambda-ric) ---`);
  const result = await invokeOnce({ fn, env, event, rie, ric, onLog: (chunk) => process.stderr.write(chunk) });
  log(`--- ${result.failed ? 'error' : 'response'} ---`);
  process.stdout.write(`${JSON.stringify(result.response, null, 2)}\n`);
  return result.failed ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: Error) => {
      process.stderr.write(`invoke: ${error.message}\n`);
      process.exit(1);
    },
  );
}
