#!/usr/bin/env node
// Runs after `npm ci` / `npm install`: creates local/.devstack/venv and installs the pinned Python tools of the
// infra checks (cfn-lint for the template check) from the requirements file below. The local stack's emulator
// (MiniStack) has a venv of its own, installed by `stack:up` (local/stack/emulators.ts). Downloads go through pip's cache, so a second run is quick. Set
// ORDERFLOW_SKIP_PYTHON=1 to skip (e.g. when only building Lambda bundles).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const REQUIREMENTS = ['infra/requirements.txt'].filter((f) => existsSync(f));
const VENV = 'local/.devstack/venv';

if (process.env.ORDERFLOW_SKIP_PYTHON === '1' || REQUIREMENTS.length === 0) process.exit(0);

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
    'orderflow: python3 not found; cfn-lint (and the local stack) need Python 3.10+ (apt-get install python3 python3-venv).',
  );
  process.exit(1);
}
const run = (cmd, args) => execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
try {
  if (!existsSync(`${VENV}/bin/python`)) run(python, ['-m', 'venv', VENV]);
  run(`${VENV}/bin/python`, [
    '-m',
    'pip',
    'install',
    '--quiet',
    '--disable-pip-version-check',
    ...REQUIREMENTS.flatMap((r) => ['-r', r]),
  ]);
  console.log(`orderflow: Python tools ready in ${VENV} (${REQUIREMENTS.join(', ')})`);
} catch (error) {
  console.error(`orderflow: installing Python tools into ${VENV} failed: ${error.message}`);
  process.exit(1);
}
