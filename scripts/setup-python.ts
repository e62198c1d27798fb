/**
 * Installs the pinned Python tools of the infra checks (`scripts/python-tools.ts`) into the tool cache, each venv
 * once: a venv whose marker lists its requirements is left alone, so a second run costs a file read. `npm test`
 * runs it before the unit tests. Set ORDERFLOW_SKIP_PYTHON=1 to skip it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type ToolVenv, toolVenvs } from './python-tools.js';

/** The Python to build venvs with, or undefined. */
function findPython(): string | undefined {
  return ['python3', 'python'].find((cmd) => {
    try {
      execFileSync(cmd, ['-c', 'import venv, sys; assert sys.version_info >= (3, 10)'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
}

/** Runs a command with its output on this terminal; resolves when it succeeds, rejects naming it otherwise. */
function run(cmd: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`)),
    );
  });
}

/** Installs one venv unless its marker says its requirements are there already. */
async function install(python: string, venv: ToolVenv): Promise<void> {
  const marker = path.join(venv.dir, 'installed-requirements.txt');
  const wanted = `${venv.requirements.join('\n')}\n`;
  if (existsSync(marker) && readFileSync(marker, 'utf8') === wanted) return;
  console.log(`orderflow: installing ${venv.requirements.join(', ')} into ${venv.dir} (once, about a minute) ...`);
  const started = Date.now();
  rmSync(venv.dir, { recursive: true, force: true });
  mkdirSync(path.dirname(venv.dir), { recursive: true });
  await run(python, ['-m', 'venv', venv.dir]);
  await run(path.join(venv.dir, 'bin', 'python'), [
    '-m',
    'pip',
    'install',
    '--quiet',
    '--disable-pip-version-check',
    ...venv.requirements,
  ]);
  writeFileSync(marker, wanted);
  console.log(`orderflow: ${venv.name} tools ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

if (process.env.ORDERFLOW_SKIP_PYTHON !== '1') {
  const venvs = toolVenvs();
  const missing = venvs.filter((v) => {
    const marker = path.join(v.dir, 'installed-requirements.txt');
    return !existsSync(marker) || readFileSync(marker, 'utf8') !== `${v.requirements.join('\n')}\n`;
  });
  if (missing.length > 0) {
    const python = findPython();
    if (!python) {
      console.error(
        'orderflow: cfn-lint, sam and checkov need Python 3.10+ with venv (Debian: apt-get install python3 python3-venv)',
      );
      process.exit(1);
    }
    // The venvs are independent, so they install side by side (pip mostly waits on downloads).
    const results = await Promise.allSettled(missing.map((venv) => install(python, venv)));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    for (const f of failed) console.error(`orderflow: installing Python tools failed: ${(f.reason as Error).message}`);
    if (failed.length > 0) process.exit(1);
  }
}
