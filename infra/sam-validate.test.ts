import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { INSTALL_HINT, pythonTool } from '../scripts/python-tools.js';
import { SCANNED_VARIANTS, type ScannedVariant, scannedTemplates } from './testing.js';

const VENV_SAM = pythonTool('sam');

/**
 * The cfn-lint checks `sam validate --lint` ignores, as `infra/cfn-lint.test.ts` does (W3005: the `DependsOn` CDK
 * adds next to a `GetAtt`). `sam validate` has no flag for it; cfn-lint reads them from `.cfnlintrc` in the
 * working directory.
 */
const IGNORED_CHECKS = ['W3005'];

/**
 * `sam validate --lint` runs offline: it lints with cfn-lint and never calls AWS (checked with no credentials, no
 * region and no network; only plain `sam validate` calls IAM). The region and dummy credentials keep it from
 * picking up a developer's profile; telemetry is off.
 */
const OFFLINE_ENV: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== 'AWS_PROFILE')),
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  SAM_CLI_TELEMETRY: '0',
};

/** The sam to run: the project venv's, else the one on PATH, else undefined. */
function samBinary(): string | undefined {
  if (existsSync(VENV_SAM)) return VENV_SAM;
  const found = spawnSync('sam', ['--version'], { encoding: 'utf8', env: OFFLINE_ENV });
  return found.status === 0 ? 'sam' : undefined;
}

function validate(binary: string, template: object): { status: number | null; output: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'orderflow-sam-validate-'));
  const file = path.join(dir, 'Orderflow.template.json');
  writeFileSync(file, JSON.stringify(template, null, 1));
  writeFileSync(path.join(dir, '.cfnlintrc'), `ignore_checks:\n${IGNORED_CHECKS.map((c) => `  - ${c}\n`).join('')}`);
  const result = spawnSync(binary, ['validate', '--lint', '--template-file', file, '--region', 'us-east-1'], {
    encoding: 'utf8',
    cwd: dir,
    env: OFFLINE_ENV,
  });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

let binary: string | undefined;
let templates: Record<ScannedVariant, object>;

beforeAll(() => {
  binary = samBinary();
  templates = scannedTemplates();
}, 120_000);

describe('sam validate --lint', () => {
  it('is installed', () => {
    expect({
      binary,
      install: binary ? 'ok' : `sam (aws-sam-cli) not found: ${INSTALL_HINT}`,
    }).toEqual({ binary: expect.any(String), install: 'ok' });
    expect(execFileSync(binary as string, ['--version'], { encoding: 'utf8', env: OFFLINE_ENV })).toMatch(
      /SAM CLI, version \d+\.\d+\.\d+/,
    );
  });

  it.each(Object.keys(SCANNED_VARIANTS) as ScannedVariant[])(
    'finds the template with %s valid',
    (variant) => {
      // Prepare
      const template = templates[variant];
      if (!binary || !template) throw new Error('sam is not installed; see the first test for how to install it');

      // Act
      const result = validate(binary, template);

      // Assess
      expect(result).toEqual({ status: 0, output: expect.stringMatching(/is a valid SAM Template/) });
    },
    120_000,
  );
});
