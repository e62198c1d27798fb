/**
 * The emulator's state on disk: one JSON file, replaced atomically (write a temporary file, fsync, rename) after
 * every change, so a SIGKILL at any moment leaves either the old or the new state, and every schema version id a
 * Glue-framed record in Kafka points at is still there after a restart.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { emptyState, type RegistryState } from './registry.js';

/** The state in `file`, or an empty one when the file does not exist yet; throws when it is unreadable. */
export function loadState(file: string): RegistryState {
  if (!existsSync(file)) return emptyState();
  let parsed: RegistryState;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as RegistryState;
  } catch (error) {
    throw new Error(`${file} is not the Glue emulator's state (invalid JSON); move it away to start empty`, {
      cause: error,
    });
  }
  if (parsed.formatVersion !== 1 || typeof parsed.registries !== 'object') {
    throw new Error(`${file} has an unknown format (formatVersion ${String(parsed.formatVersion)})`);
  }
  return parsed;
}

/** Writes `state` to `file` atomically: a crash leaves the previous file or the new one, never half of one. */
export function saveState(file: string, state: RegistryState): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  const fd = openSync(temporary, 'w');
  try {
    writeSync(fd, `${JSON.stringify(state, null, 1)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, file);
}
