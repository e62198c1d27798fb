/** Captures what a test writes to stdout and stderr: Powertools logs and EMF metrics go there. */
import { jest } from '@jest/globals';

/**
 * Spies on `process.stdout` and `process.stderr` and returns the array their writes land in, as strings; undo it
 * with `jest.restoreAllMocks()`.
 *
 * @example
 * beforeEach(() => { output = captureOutput(); });
 * afterEach(() => { jest.restoreAllMocks(); });
 */
export function captureOutput(): string[] {
  const output: string[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      output.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    });
  }
  return output;
}
