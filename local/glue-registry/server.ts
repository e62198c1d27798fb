/**
 * The local Glue Schema Registry server: `node --import tsx local/glue-registry/server.ts [--port 4567]
 * [--data <file>]`. Binds 127.0.0.1 only; its state is one JSON file (`store.ts`), read at start and replaced on
 * every change. `local/stack/emulators.ts` starts it in both backends; the integration test starts its own.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dispatch } from './http.js';
import { GlueRegistry } from './registry.js';
import { loadState, saveState } from './store.js';

/** Glue's default port in the local stack (`AWS_ENDPOINT_URL_GLUE`); no other service of the stack uses it. */
export const DEFAULT_GLUE_PORT = 4567;

/** Largest request body accepted: a definition is at most 170,000 characters, so 1 MiB is ample. */
const MAX_BODY_BYTES = 1024 * 1024;

/** Options of `startGlueServer`. */
export interface GlueServerOptions {
  /** Port on 127.0.0.1; 0 lets the OS pick one. @default DEFAULT_GLUE_PORT */
  readonly port?: number;
  /** The state file. @default - in memory only (lost on exit) */
  readonly dataFile?: string;
  /** Diagnostics. @default - silent */
  readonly log?: (message: string) => void;
}

/** A running emulator. */
export interface GlueServer {
  readonly port: number;
  readonly url: string;
  readonly registry: GlueRegistry;
  close(): Promise<void>;
}

/**
 * Starts the emulator on 127.0.0.1.
 *
 * @example
 * const glue = await startGlueServer({ port: 0, dataFile: '/tmp/glue.json' });
 * process.env.AWS_ENDPOINT_URL_GLUE = glue.url;
 */
export async function startGlueServer(options: GlueServerOptions = {}): Promise<GlueServer> {
  const { dataFile, log } = options;
  const state = dataFile ? loadState(dataFile) : undefined;
  const registry = new GlueRegistry(state ?? { formatVersion: 1, registries: {} }, {
    region: process.env.AWS_REGION || 'us-east-1',
    onChange: dataFile ? (changed) => saveState(dataFile, changed) : undefined,
    log,
  });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413, { 'Content-Type': 'text/plain' }).end('request body too large\n');
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (res.writableEnded) return;
      const response = dispatch(registry, {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        target: req.headers['x-amz-target'] as string | undefined,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(response.status, response.headers).end(response.body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_GLUE_PORT, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    registry,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function argument(argv: readonly string[], name: string): string | undefined {
  const index = argv.indexOf(name);
  return index >= 0 ? argv[index + 1] : undefined;
}

async function main(argv: readonly string[]): Promise<void> {
  const port = Number(argument(argv, '--port') ?? DEFAULT_GLUE_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`--port must be a port, got '${port}'`);
  const dataFile = argument(argv, '--data');
  const log = (message: string) => console.log(`${new Date().toISOString()} glue-registry: ${message}`);
  const glue = await startGlueServer({ port, dataFile: dataFile && path.resolve(dataFile), log });
  const { schemas, versions } = glue.registry.counts();
  log(`listening on ${glue.url} (${schemas} schemas, ${versions} versions, state ${dataFile ?? 'in memory'})`);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    // Every change is on disk already: stopping only closes the socket.
    process.once(signal, () => glue.close().then(() => process.exit(0)));
  }
}

if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(`glue-registry: ${(error as Error).message}`);
    process.exit(1);
  });
}

/** This file, for starting the server as a process. */
export const SERVER_SCRIPT = fileURLToPath(import.meta.url);
