import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { build } from 'esbuild';
import * as z from './zod.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Every `.ts` file under the source folders, tests included. */
function sources(): string[] {
  return ['shared', 'functions', 'local', 'infra', 'bench', 'scripts', 'events'].flatMap((dir) =>
    readdirSync(path.join(REPO_ROOT, dir), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts') && !file.includes('node_modules'))
      .map((file) => path.join(dir, file)),
  );
}

describe('shared/zod', () => {
  it("gives zod's English messages, not mini's bare 'Invalid input'", () => {
    // Prepare
    const schema = z.object({
      name: z.string().check(z.trim(), z.minLength(1)),
      email: z.email(),
      quantity: z.int().check(z.maximum(100)),
    });

    // Act
    const parsed = schema.safeParse({ name: '  ', email: 'nobody', quantity: 1.5 });

    // Assess
    expect(parsed.error?.issues.map(({ path, message }) => ({ path, message }))).toEqual([
      { path: ['name'], message: 'Too small: expected string to have >=1 characters' },
      { path: ['email'], message: 'Invalid email address' },
      { path: ['quantity'], message: 'Invalid input: expected int, received number' },
    ]);
  });

  it('is the only module that imports zod, so the repo has one zod flavour', () => {
    // Act
    const importers = sources().filter((file) =>
      /from 'zod[/']/.test(readFileSync(path.join(REPO_ROOT, file), 'utf8')),
    );

    // Assess
    expect(importers).toEqual([path.join('shared', 'zod.ts')]);
  });

  it('bundles tree-shaken: no zod classic, no locale but English, a fraction of zod/mini', async () => {
    // Prepare: the modules that declare schemas, bundled as a function bundles them (ESM, minified).
    const entry = ['config', 'functions', 'live-protocol', 'bus']
      .map((name) => `export * from './shared/${name}.js';`)
      .concat("export * from './functions/order-api/order-api.js';")
      .join('\n');

    // Act
    const { metafile } = await build({
      stdin: { contents: entry, resolveDir: REPO_ROOT, loader: 'ts' },
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'node',
      write: false,
      outfile: 'out.mjs',
      metafile: true,
      logLevel: 'silent',
    });

    // Assess
    const zodInputs = Object.entries(metafile.outputs['out.mjs']?.inputs ?? {}).filter(([input]) =>
      input.includes('node_modules/zod/'),
    );
    const files = zodInputs.map(([input]) => input.slice(input.indexOf('node_modules/zod/')));
    expect(files.filter((file) => file.includes('/v4/classic/'))).toEqual([]);
    expect(files.filter((file) => file.includes('/locales/'))).toEqual(['node_modules/zod/v4/locales/en.js']);
    // All of zod/mini with its 40 locales is 422 KiB; what these schemas use, about 25.
    expect(zodInputs.reduce((sum, [, { bytesInOutput }]) => sum + bytesInOutput, 0)).toBeLessThan(40 * 1024);
  });
});
