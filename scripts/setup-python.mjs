#!/usr/bin/env node
// Runs after `npm ci` / `npm install`: installs the pinned Python tools of the infra checks from
// infra/requirements.txt into local/.devstack/venv (cfn-lint, aws-sam-cli) and, for the packages listed in
// ISOLATED below, into a venv of their own (checkov pins a boto3 that aws-sam-cli's exact pin excludes, so pip
// cannot resolve both in one environment). The local stack's emulator (MiniStack) has a venv of its own too,
// installed by `stack:up` (local/stack/emulators.ts). A venv whose requirements have not changed since its last
// install is left alone; downloads go through pip's cache, so a reinstall is quick. Set ORDERFLOW_SKIP_PYTHON=1 to
// skip (e.g. when only building Lambda bundles).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const REQUIREMENTS = 'infra/requirements.txt';
const VENV = 'local/.devstack/venv';
/** Packages installed into `local/.devstack/<name>-venv` instead of the shared venv. */
const ISOLATED = ['checkov'];

if (process.env.ORDERFLOW_SKIP_PYTHON === '1' || !existsSync(REQUIREMENTS)) process.exit(0);

/** The requirement lines of the file (comments and blanks dropped), split into the shared venv and isolated ones. */
function venvs() {
  const lines = readFileSync(REQUIREMENTS, 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
  const nameOf = (line) => line.split(/[=<>!~[ ;]/)[0].toLowerCase();
  const result = [{ venv: VENV, lines: lines.filter((l) => !ISOLATED.includes(nameOf(l))) }];
  for (const name of ISOLATED) {
    const own = lines.filter((l) => nameOf(l) === name);
    if (own.length > 0) result.push({ venv: `local/.devstack/${name}-venv`, lines: own });
  }
  return result;
}

const python = ['python3', 'python'].find((cmd) => {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});
if (!python) {
  console.error(
    'orderflow: python3 not found; cfn-lint, sam and checkov (and the local stack) need Python 3.10+ (apt-get install python3 python3-venv).',
  );
  process.exit(1);
}
/** Runs a command with its output on this terminal; resolves when it succeeds, rejects naming it otherwise. */
const run = (cmd, args) =>
  new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`)),
    );
  });

/** Installs one venv's requirements unless its marker says they are already there. */
async function install({ venv, lines }) {
  const marker = `${venv}/installed-requirements.txt`;
  const wanted = `${lines.join('\n')}\n`;
  if (existsSync(`${venv}/bin/python`) && existsSync(marker) && readFileSync(marker, 'utf8') === wanted) {
    console.log(`orderflow: Python tools in ${venv} are up to date (${lines.join(', ')})`);
    return;
  }
  const started = Date.now();
  if (!existsSync(`${venv}/bin/python`)) await run(python, ['-m', 'venv', venv]);
  await run(`${venv}/bin/python`, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...lines]);
  writeFileSync(marker, wanted);
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  console.log(`orderflow: Python tools ready in ${venv} (${lines.join(', ')}) in ${seconds} s`);
}

// The venvs are independent, so they install side by side (pip spends most of its time waiting on downloads).
const results = await Promise.allSettled(venvs().map(install));
const failed = results.filter((r) => r.status === 'rejected');
for (const f of failed) console.error(`orderflow: installing Python tools failed: ${f.reason.message}`);
if (failed.length > 0) process.exit(1);
