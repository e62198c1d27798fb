/**
 * `npm run fixtures`: regenerates every function's recorded events by running each `events/<function>/generate.ts`.
 * Generators are deterministic (fixed ids and clocks), so a clean run leaves git with nothing to commit.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));
for (const dir of readdirSync(root, { withFileTypes: true })) {
  const generator = `${root}${dir.name}/generate.ts`;
  if (!dir.isDirectory() || !existsSync(generator)) continue;
  console.log(`events/${dir.name}`);
  execFileSync(process.execPath, ['--import', 'tsx', generator], { stdio: 'inherit' });
}
