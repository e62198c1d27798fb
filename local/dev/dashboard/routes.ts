/**
 * The dashboard's HTTP side: `GET /` (index.html), `GET /_dashboard/app.js`, and the JSON endpoints over
 * `DashboardSources`. Mounted on the dev server with `mountRoute`, in front of order-api.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CONSUMERS, type FunctionName } from '../../../shared/topology.js';
import type { ExtraRoute } from '../http.js';
import type { DashboardSources } from './data.js';

/** Header a redrive request must carry: a cross-site form or fetch cannot send it without a CORS preflight. */
export const REDRIVE_HEADER = 'x-orderflow-dashboard';

const STATIC = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/_dashboard/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
} as const;

/** The page may load only itself and talk only to its own origin (`/live` included). */
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'";

/**
 * The dashboard route. Files are read once, here; a data endpoint whose source fails answers
 * `503 {"error"}` and the page shows the error in place of that panel.
 *
 * @example
 * mountRoute(server, dashboardRoute(localDashboardSources(deps)));
 */
export function dashboardRoute(sources: DashboardSources): ExtraRoute {
  const files = Object.fromEntries(
    Object.entries(STATIC).map(([path, { file, type }]) => [
      path,
      { type, body: readFileSync(new URL(file, import.meta.url)) },
    ]),
  );
  const running = new Set<string>();
  return async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const file = files[url.pathname];
    if (req.method === 'GET' && file) {
      res
        .writeHead(200, {
          'content-type': file.type,
          'cache-control': 'no-store',
          'content-security-policy': CONTENT_SECURITY_POLICY,
          'x-content-type-options': 'nosniff',
        })
        .end(file.body);
      return true;
    }
    if (!url.pathname.startsWith('/_dashboard/')) return false;
    const endpoint = url.pathname.slice('/_dashboard/'.length);
    const names = CONSUMERS.map((c) => c.function as string);
    if (req.method === 'GET' && (endpoint === 'metrics' || endpoint === 'lag' || endpoint === 'pipeline')) {
      await answerFrom(res, () => sources[endpoint]());
      return true;
    }
    if (req.method === 'GET' && endpoint === 'dlq') {
      // The consumers a redrive button is offered for, with the letters.
      await answerFrom(res, async () => ({ ...(await sources.dlq()), consumers: names }));
      return true;
    }
    if (req.method === 'POST' && endpoint === 'redrive') {
      const consumer = url.searchParams.get('consumer') ?? '';
      if (req.headers[REDRIVE_HEADER] !== '1') {
        json(res, 403, { error: `a redrive needs the ${REDRIVE_HEADER}: 1 header` });
      } else if (!names.includes(consumer)) {
        json(res, 400, { error: `consumer must be one of ${names.join(', ')}, got '${consumer}'` });
      } else if (running.has(consumer)) {
        json(res, 409, { error: `a redrive of ${consumer} is running` });
      } else {
        running.add(consumer);
        try {
          await answerFrom(res, () => sources.redrive(consumer as FunctionName));
        } finally {
          running.delete(consumer);
        }
      }
      return true;
    }
    json(res, 404, { error: `no dashboard endpoint ${req.method} ${url.pathname}` });
    return true;
  };
}

async function answerFrom(res: ServerResponse, read: () => Promise<unknown>): Promise<void> {
  try {
    json(res, 200, await read());
  } catch (error) {
    json(res, 503, { error: (error as Error).message });
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}
