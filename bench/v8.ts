/**
 * `npm run bench -- --v8 [--rate N] [--duration S] [--variants "<flags>;<flags>"]`: what V8 compiles in `npm run dev`
 * under a steady load of good orders. Each variant (a set of V8 flags; the first, empty, is V8's defaults) gets a
 * fresh dev process started with `--trace-opt --trace-deopt` and the same load, one after another; the report gives,
 * for the steady part of the run (from 60 s on), the optimizing compiles and deopts per 10 s, how many of the
 * compiled functions were distinct (a deopt or flushing loop compiles the same function again and again), and the
 * dev process's CPU. Needs `npm run stack:up`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { placeTestOrder } from '../local/dev/testing.js';
import { REPO_ROOT } from '../local/stack/config.js';
import { requireRunningStack } from '../local/stack/preflight.js';
import { freePort } from '../local/stack/processes.js';
import { createOrderflowClient } from '../shared/client.js';

/** Options of the V8 benchmark. */
export interface V8BenchOptions {
  readonly rate: number;
  readonly durationSeconds: number;
  /** V8 flags of each variant, run in this order; `[]` is V8's defaults. */
  readonly variants: readonly (readonly string[])[];
}

/** Seconds into the load from which a run counts as steady. */
export const STEADY_FROM_SECONDS = 60;

/** One line of `--trace-opt` / `--trace-deopt` output that matters here. */
export type TraceEvent =
  | { readonly kind: 'compile'; readonly fn: string; readonly sfi: string }
  | { readonly kind: 'deopt'; readonly fn: string; readonly reason: string };

/** Parses a `--trace-opt` (TurboFan compile start) or `--trace-deopt` line; anything else is undefined. */
export function parseTraceLine(line: string): TraceEvent | undefined {
  const fn = /<JSFunction ([^ >]*)/.exec(line)?.[1] ?? '?';
  if (line.startsWith('[compiling method')) {
    return {
      kind: 'compile',
      fn: fn === '(sfi' ? '(anonymous)' : fn,
      sfi: /sfi = (0x[0-9a-f]+)/.exec(line)?.[1] ?? '?',
    };
  }
  if (line.startsWith('[bailout')) {
    return {
      kind: 'deopt',
      fn: fn === '(sfi' ? '(anonymous)' : fn,
      reason: /reason: ([^)]*)\)/.exec(line)?.[1] ?? '?',
    };
  }
  return undefined;
}

/** What one variant's steady part showed. */
export interface V8Summary {
  readonly flags: string;
  readonly compilesPer10s: number;
  readonly distinctCompiled: number;
  readonly compiles: number;
  readonly deoptsPer10s: number;
  readonly topDeopts: readonly string[];
  readonly cpuCores: number;
  readonly cpuMsPerOrder: number;
}

/** Sums up the steady events (each with its second into the load) and the dev process's CPU over that time. */
export function summarize(
  flags: readonly string[],
  events: readonly { readonly at: number; readonly event: TraceEvent }[],
  steadySeconds: number,
  cpuSeconds: number,
  rate: number,
): V8Summary {
  const steady = events.filter((e) => e.at >= STEADY_FROM_SECONDS && e.at < STEADY_FROM_SECONDS + steadySeconds);
  const compiles = steady.flatMap((e) => (e.event.kind === 'compile' ? [e.event] : []));
  const deopts = steady.flatMap((e) => (e.event.kind === 'deopt' ? [e.event] : []));
  const byReason = new Map<string, number>();
  for (const d of deopts) byReason.set(`${d.reason} in ${d.fn}`, (byReason.get(`${d.reason} in ${d.fn}`) ?? 0) + 1);
  const windows = steadySeconds / 10;
  return {
    flags: flags.length > 0 ? flags.join(' ') : '(V8 defaults)',
    compiles: compiles.length,
    compilesPer10s: compiles.length / windows,
    distinctCompiled: new Set(compiles.map((c) => c.sfi)).size,
    deoptsPer10s: deopts.length / windows,
    topDeopts: [...byReason.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([what, n]) => `${what} ×${n}`),
    cpuCores: cpuSeconds / steadySeconds,
    cpuMsPerOrder: (cpuSeconds * 1000) / (steadySeconds * rate),
  };
}

/** Parses `--rate N --duration S --variants "a b;c"` (defaults: 20/s, 120 s, defaults against no TurboFan). */
export function parseV8Args(argv: readonly string[]): V8BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: false,
    options: { rate: { type: 'string' }, duration: { type: 'string' }, variants: { type: 'string' } },
  });
  const rate = Number(values.rate ?? 20);
  const durationSeconds = Number(values.duration ?? 120);
  if (!(rate > 0 && rate <= 200)) throw new Error(`--rate must be a number from 1 to 200, got '${values.rate}'`);
  if (!(durationSeconds >= STEADY_FROM_SECONDS + 20 && durationSeconds <= 1_800)) {
    throw new Error(`--duration must be ${STEADY_FROM_SECONDS + 20} to 1800 s, got '${values.duration}'`);
  }
  const raw = typeof values.variants === 'string' ? values.variants : ';--max-opt=1';
  const variants = raw.split(';').map((v) => v.split(/\s+/).filter((f) => f.length > 0));
  return { rate, durationSeconds, variants };
}

/** The CPU seconds (user + system) `pid` has used. */
function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Runs one variant: a dev process with `flags`, `rate` good orders/s for `durationSeconds`. */
async function runVariant(options: V8BenchOptions, flags: readonly string[]): Promise<V8Summary> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    ['--trace-opt', '--trace-deopt', ...flags, '--import', 'tsx', 'local/dev/dev.ts'],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, PORT: String(port), NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  const events: { at: number; event: TraceEvent }[] = [];
  let loadStart = 0;
  const served = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`npm run dev exited with ${code} before it served`)));
    if (!child.stdout) throw new Error('no stdout from the dev process');
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.includes('order API on')) resolve();
      const event = loadStart > 0 ? parseTraceLine(line) : undefined;
      if (event) events.push({ at: (Date.now() - loadStart) / 1000, event });
    });
  });
  try {
    await served;
    const client = createOrderflowClient({ baseUrl: `http://127.0.0.1:${port}` });
    loadStart = Date.now();
    const pending: Promise<unknown>[] = [];
    let cpuAtSteady = Number.NaN;
    for (let sent = 0; Date.now() - loadStart < options.durationSeconds * 1000; sent += 1) {
      if (Number.isNaN(cpuAtSteady) && Date.now() - loadStart >= STEADY_FROM_SECONDS * 1000) {
        cpuAtSteady = cpuSecondsOf(child.pid as number);
      }
      pending.push(placeTestOrder(client, { customerId: 'c-bench-v8' }).catch(() => undefined));
      const next = loadStart + ((sent + 1) * 1000) / options.rate;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
    }
    const steadySeconds = (Date.now() - loadStart) / 1000 - STEADY_FROM_SECONDS;
    const cpu = cpuSecondsOf(child.pid as number) - cpuAtSteady;
    await Promise.all(pending);
    return summarize(flags, events, steadySeconds, cpu, options.rate);
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

/** Runs every variant in turn and prints one table. */
export async function runV8Bench(options: V8BenchOptions): Promise<void> {
  await requireRunningStack();
  console.log(
    `v8: ${options.variants.length} variant(s), ${options.rate} good orders/s for ${options.durationSeconds} s each; steady from ${STEADY_FROM_SECONDS} s`,
  );
  const rows: V8Summary[] = [];
  for (const flags of options.variants) {
    console.log(`v8: running ${flags.join(' ') || '(V8 defaults)'} ...`);
    rows.push(await runVariant(options, flags));
  }
  const base = rows[0];
  console.log('');
  console.log(
    '| V8 flags | compiles / 10 s | distinct of compiled | deopts / 10 s | dev CPU (cores) | CPU ms / order | CPU vs first |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(
      `| ${r.flags} | ${r.compilesPer10s.toFixed(0)} | ${r.distinctCompiled} of ${r.compiles} | ${r.deoptsPer10s.toFixed(1)} | ${r.cpuCores.toFixed(2)} | ${r.cpuMsPerOrder.toFixed(0)} | ${base ? (r.cpuCores / base.cpuCores).toFixed(2) : '-'}× |`,
    );
  }
  for (const r of rows)
    if (r.topDeopts.length > 0) console.log(`${r.flags}: most frequent deopts: ${r.topDeopts.join('; ')}`);
}
