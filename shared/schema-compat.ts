/**
 * BACKWARD compatibility of `schemas/` against the versions committed in `schemas/history/<Event>/v<n>.avsc`:
 * the current schema, as reader, must read data written with every earlier version (the Confluent registry's
 * BACKWARD rule). `npm run schemas:snapshot` records a new version after a compatible change.
 */
import { readdirSync, readFileSync } from 'node:fs';
import avro from 'avsc';
import type { EventType } from './topology.js';

/** One committed version of an event schema. */
export interface SchemaVersion {
  readonly version: number;
  readonly schema: avro.Schema;
}

/** The committed versions of `type` under `historyDir`, oldest first. */
export function historyOf(historyDir: URL, type: EventType): SchemaVersion[] {
  const dir = new URL(`${type}/`, historyDir);
  return readdirSync(dir)
    .map((file) => /^v(\d+)\.avsc$/.exec(file))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({
      version: Number(m[1]),
      schema: JSON.parse(readFileSync(new URL(m[0], dir), 'utf8')) as avro.Schema,
    }))
    .sort((a, b) => a.version - b.version);
}

/**
 * Why `reader` cannot read data written with `writer`, or `undefined` when it can (BACKWARD compatible).
 *
 * @example
 * backwardIncompatibility(current, previous) // 'missing default for field priority' or undefined
 */
export function backwardIncompatibility(reader: avro.Schema, writer: avro.Schema): string | undefined {
  try {
    avro.Type.forSchema(reader).createResolver(avro.Type.forSchema(writer));
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
