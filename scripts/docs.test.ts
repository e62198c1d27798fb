/**
 * The README stays a newcomer's page (at most 350 lines), and every relative link in it and in docs/ resolves:
 * the file exists and, for `#anchor` links, the target file has a heading with that GitHub slug.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PAGES = [
  'README.md',
  ...readdirSync(path.join(REPO_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** GitHub's anchor of a heading: lowercase, punctuation dropped, spaces to hyphens. */
function slugOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a markdown file's headings (outside code blocks). */
function anchorsOf(file: string): Set<string> {
  const anchors = new Set<string>();
  let inCode = false;
  for (const line of readFileSync(path.join(REPO_ROOT, file), 'utf8').split('\n')) {
    if (line.startsWith('```')) inCode = !inCode;
    const heading = inCode ? null : /^#{1,6} (.*)$/.exec(line);
    if (heading?.[1]) anchors.add(slugOf(heading[1]));
  }
  return anchors;
}

/** Relative links of a markdown file (`[text](target)`), code blocks and inline code excluded. */
function linksOf(file: string): string[] {
  const text = readFileSync(path.join(REPO_ROOT, file), 'utf8')
    .replace(/```[\s\S]*?```/g, '')
    .replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? '').filter((target) => !/^[a-z]+:/i.test(target));
}

describe('README and docs', () => {
  it('keeps the README at most 350 lines', () => {
    // Act
    const lines = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8').trimEnd().split('\n').length;

    // Assess
    expect(lines).toBeLessThanOrEqual(350);
  });

  it('has every relative link resolve to a file and heading', () => {
    // Act
    const broken = PAGES.flatMap((page) =>
      linksOf(page).flatMap((target) => {
        const [file = '', anchor] = target.split('#');
        const resolved = file === '' ? page : path.normalize(path.join(path.dirname(page), file));
        if (!existsSync(path.join(REPO_ROOT, resolved))) return [`${page}: ${target} (no file ${resolved})`];
        if (anchor && resolved.endsWith('.md') && !anchorsOf(resolved).has(anchor)) {
          return [`${page}: ${target} (no heading #${anchor} in ${resolved})`];
        }
        return [];
      }),
    );

    // Assess
    expect(broken).toEqual([]);
  });
});
