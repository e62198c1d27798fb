import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { INSTALL_HINT, pythonTool } from '../scripts/python-tools.js';
import { REPO_ROOT } from './constructs/orderflow-function.js';
import { SCANNED_VARIANTS, scannedTemplates } from './testing.js';

const VENV_CHECKOV = pythonTool('checkov');
const SKIPS_FILE = path.join(REPO_ROOT, 'infra', 'checkov-skips.json');

/** One acknowledged check: its id, the resources it is skipped on (`Type.LogicalId`, `*` matches any run), why. */
interface Skip {
  readonly check: string;
  readonly resources: readonly string[];
  readonly reason: string;
}

/** A failed check as checkov reports it (`--output json`). */
interface Finding {
  readonly check_id: string;
  readonly check_name: string;
  readonly resource: string;
  /** The scanned file the finding is in. */
  readonly file_abs_path: string;
}

const SKIPS = (JSON.parse(readFileSync(SKIPS_FILE, 'utf8')) as { skips: Skip[] }).skips;

function matches(pattern: string, resource: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
  return regex.test(resource);
}

function skipOf(finding: Finding): Skip | undefined {
  return SKIPS.find((s) => s.check === finding.check_id && s.resources.some((r) => matches(r, finding.resource)));
}

/** The checkov to run: the project venv's, else the one on PATH, else undefined. */
function checkovBinary(): string | undefined {
  if (existsSync(VENV_CHECKOV)) return VENV_CHECKOV;
  const found = spawnSync('checkov', ['--version'], { encoding: 'utf8' });
  return found.status === 0 ? 'checkov' : undefined;
}

/**
 * Runs every CloudFormation check offline (`--skip-download`: no Prisma Cloud mappings) over every template in one
 * checkov run (its start-up, about 6 s here, is most of a run) and lists each template's failures.
 */
function scanAll<K extends string>(binary: string, templates: Record<K, object>): Record<K, Finding[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'orderflow-checkov-'));
  const files = new Map<string, K>();
  Object.keys(templates).forEach((variant, i) => {
    const file = path.join(dir, `variant-${i}.template.json`);
    writeFileSync(file, JSON.stringify(templates[variant as K], null, 1));
    files.set(file, variant as K);
  });
  const result = spawnSync(
    binary,
    [
      ...[...files.keys()].flatMap((file) => ['--file', file]),
      ...['--framework', 'cloudformation', '--output', 'json', '--quiet', '--compact', '--skip-download'],
    ],
    { encoding: 'utf8', env: { ...process.env, BC_SKIP_MAPPING: 'TRUE' }, maxBuffer: 64 * 1024 * 1024 },
  );
  if (result.error) throw result.error;
  // checkov exits 1 when a check fails; anything it prints that is not its report is an error.
  let report: unknown;
  try {
    report = JSON.parse(result.stdout);
  } catch (error) {
    throw new Error(`checkov printed no JSON report (exit ${result.status}):\n${result.stdout}${result.stderr}`, {
      cause: error,
    });
  }
  const reports = Array.isArray(report) ? report : [report];
  const failed = reports.flatMap(
    (r) => (r as { results?: { failed_checks?: Finding[] } }).results?.failed_checks ?? [],
  );
  const byVariant = Object.fromEntries([...files.values()].map((v) => [v, [] as Finding[]])) as Record<K, Finding[]>;
  for (const finding of failed) {
    const variant = files.get(path.resolve(finding.file_abs_path));
    if (variant === undefined) throw new Error(`checkov reported a file it was not given: ${finding.file_abs_path}`);
    byVariant[variant].push(finding);
  }
  return byVariant;
}

let binary: string | undefined;
const findings: Record<string, Finding[]> = {};

beforeAll(() => {
  binary = checkovBinary();
  if (!binary) return;
  Object.assign(findings, scanAll(binary, scannedTemplates()));
}, 300_000);

describe('checkov', () => {
  it('is installed', () => {
    expect({
      binary,
      install: binary ? 'ok' : `checkov not found: ${INSTALL_HINT}`,
    }).toEqual({ binary: expect.any(String), install: 'ok' });
    expect(execFileSync(binary as string, ['--version'], { encoding: 'utf8' })).toMatch(/\d+\.\d+\.\d+/);
  });

  it('gives every skip a reason', () => {
    const unexplained = SKIPS.filter((s) => !/^CKV2?_AWS_\d+$/.test(s.check) || s.reason.trim().length < 20);

    expect(unexplained).toEqual([]);
  });

  it.each(Object.keys(SCANNED_VARIANTS))('fails no check in the template with %s', (variant) => {
    // Prepare
    const found = findings[variant];
    if (!found) throw new Error('checkov is not installed; see the first test for how to install it');

    // Act
    const unacknowledged = found
      .filter((f) => !skipOf(f))
      .map((f) => `${f.check_id} ${f.resource}: ${f.check_name}`)
      .sort();

    // Assess
    expect(unacknowledged).toEqual([]);
  });

  it('skips nothing that no longer fails', () => {
    // Prepare
    const all = Object.values(findings).flat();
    if (!binary) throw new Error('checkov is not installed; see the first test for how to install it');

    // Act
    const stale = SKIPS.flatMap((s) =>
      s.resources
        .filter((r) => !all.some((f) => f.check_id === s.check && matches(r, f.resource)))
        .map((r) => `${s.check} ${r}`),
    );

    // Assess
    expect(stale).toEqual([]);
  });
});
