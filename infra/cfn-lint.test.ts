import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { INSTALL_HINT, pythonTool } from '../scripts/python-tools.js';
import { SCANNED_VARIANTS, type ScannedVariant, scannedTemplates } from './testing.js';

const VENV_CFN_LINT = pythonTool('cfn-lint');

/**
 * W3005 (DependsOn already implied by a GetAtt) is how CDK wires every function to its role and policy; it
 * changes nothing at deploy time and cannot be removed from generated resources.
 */
const IGNORED_CHECKS = ['W3005'];

/** The cfn-lint to run: the project venv's, else the one on PATH, else undefined. */
function cfnLintBinary(): string | undefined {
  if (existsSync(VENV_CFN_LINT)) return VENV_CFN_LINT;
  const found = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
  return found.status === 0 ? 'cfn-lint' : undefined;
}

function lint(binary: string, template: object): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'orderflow-cfn-lint-'));
  const file = path.join(dir, 'Orderflow.template.json');
  writeFileSync(file, JSON.stringify(template, null, 1));
  const result = spawnSync(binary, ['--format', 'parseable', '--ignore-checks', ...IGNORED_CHECKS, '--', file], {
    encoding: 'utf8',
  });
  if (result.error) throw result.error;
  return `${result.stdout}${result.stderr}`.trim();
}

let binary: string | undefined;
let templates: Record<ScannedVariant, object>;

beforeAll(() => {
  binary = cfnLintBinary();
  templates = scannedTemplates();
}, 120_000);

describe('cfn-lint', () => {
  it('is installed', () => {
    expect({
      binary,
      install: binary ? 'ok' : `cfn-lint not found: ${INSTALL_HINT}`,
    }).toEqual({ binary: expect.any(String), install: 'ok' });
    expect(execFileSync(binary as string, ['--version'], { encoding: 'utf8' })).toMatch(/cfn-lint \d+\.\d+\.\d+/);
  });

  it.each(Object.keys(SCANNED_VARIANTS) as ScannedVariant[])('finds nothing in the template with %s', (variant) => {
    // Prepare
    const template = templates[variant];
    if (!binary || !template) throw new Error('cfn-lint is not installed; see the first test for how to install it');

    // Act
    const findings = lint(binary, template);

    // Assess
    expect(findings).toBe('');
  });
});
