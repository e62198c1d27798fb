/**
 * The pinned Python tools of the infra checks (cfn-lint and aws-sam-cli in one venv, checkov in its own: its boto3
 * pin excludes aws-sam-cli's) and where they live: one venv per requirement set in the tool cache
 * (`~/.cache/orderflow/python-tools/<name>-<hash>`), so a clone reuses what an earlier clone installed and a changed
 * pin gets a venv of its own. `npm test` installs what is missing first (`scripts/setup-python.ts`); `npm ci` no
 * longer does, since only these checks need them.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../local/stack/config.js';
import { toolCacheDir } from '../local/stack/emulators.js';

/** The requirements file the venvs are built from. */
export const REQUIREMENTS_FILE = path.join(REPO_ROOT, 'infra', 'requirements.txt');

/** Packages that get a venv of their own instead of the shared one. */
const ISOLATED = ['checkov'];

/** One venv: its name, folder and requirement lines. */
export interface ToolVenv {
  readonly name: string;
  readonly dir: string;
  readonly requirements: readonly string[];
}

/** The venvs `infra/requirements.txt` asks for, each in the tool cache under a name that hashes its pins. */
export function toolVenvs(env: NodeJS.ProcessEnv = process.env): ToolVenv[] {
  const lines = readFileSync(REQUIREMENTS_FILE, 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean);
  const nameOf = (line: string) => (line.split(/[=<>!~[ ;]/)[0] ?? line).toLowerCase();
  const sets = [
    { name: 'infra', requirements: lines.filter((line) => !ISOLATED.includes(nameOf(line))) },
    ...ISOLATED.map((name) => ({ name, requirements: lines.filter((line) => nameOf(line) === name) })),
  ].filter((set) => set.requirements.length > 0);
  return sets.map(({ name, requirements }) => {
    const hash = createHash('sha256').update(requirements.join('\n')).digest('hex').slice(0, 12);
    return { name, requirements, dir: path.join(toolCacheDir(env), 'python-tools', `${name}-${hash}`) };
  });
}

/**
 * The path of a tool's executable in the venv that holds its package.
 *
 * @example
 * spawnSync(pythonTool('cfn-lint'), ['--version']);
 */
export function pythonTool(tool: 'cfn-lint' | 'sam' | 'checkov', env: NodeJS.ProcessEnv = process.env): string {
  const pkg = tool === 'sam' ? 'aws-sam-cli' : tool;
  const venv = toolVenvs(env).find((v) => v.requirements.some((line) => line.toLowerCase().startsWith(pkg)));
  if (!venv) throw new Error(`${pkg} is not pinned in ${REQUIREMENTS_FILE}`);
  return path.join(venv.dir, 'bin', tool);
}

/** What a test says when a tool is missing. */
export const INSTALL_HINT = 'run `npm test` (it installs the Python tools first) or `npx tsx scripts/setup-python.ts`';
