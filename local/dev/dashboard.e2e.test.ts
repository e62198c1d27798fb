/**
 * The dashboard against `npm run dev` on the local stack, in headless Chromium: an order placed with POST /orders
 * shows in the live feed within 10 s, with no page errors; the page is saved to docs/dashboard.png. Uses the dev
 * server at `ORDERFLOW_DEV_URL` (default http://127.0.0.1:3000) when one answers, else starts `npm run dev` on a
 * free port. Needs `npm run stack:up` first, the live functions (live-connections, live-notifier) and
 * Debian's `chromium` (or `CHROMIUM_PATH`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Browser, chromium } from 'playwright-core';
import { REPO_ROOT } from '../stack/config.js';
import { coreHealth } from '../stack/health.js';
import { freePort } from '../stack/processes.js';
import { applyFunctionEnv } from './pipeline.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = path.join(REPO_ROOT, 'docs', 'dashboard.png');

let browser: Browser;
let baseUrl: string;
let dev: ChildProcess | undefined;

/** Whether a dev server with the dashboard answers at `url`. */
async function devServerAt(url: string): Promise<boolean> {
  try {
    const health = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) });
    const page = await fetch(`${url}/`, { signal: AbortSignal.timeout(1_000) });
    return health.ok && page.ok && (page.headers.get('content-type') ?? '').startsWith('text/html');
  } catch {
    return false;
  }
}

/** Starts `npm run dev` on `port` and resolves once it serves the order API (its "order API on" line). */
function startDev(port: number): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'local/dev/dev.ts'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PORT: String(port), NODE_OPTIONS: '', KAFKAJS_NO_PARTITIONER_WARNING: '1' },
  });
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2_000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm run dev did not serve within 120 s: ${stderr}`)), 120_000);
    proc.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('order API on')) {
        clearTimeout(timer);
        resolve(proc);
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm run dev exited with ${code} before it served: ${stderr}`));
    });
  });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`);
  }
  const running = process.env.ORDERFLOW_DEV_URL ?? 'http://127.0.0.1:3000';
  if (await devServerAt(running)) {
    baseUrl = running;
  } else {
    const down = (await coreHealth(applyFunctionEnv())).filter((s) => !s.healthy);
    if (down.length > 0) {
      throw new Error(
        `the local stack is not running (${down.map((s) => `${s.service}: ${s.detail}`).join('; ')}): start it with npm run stack:up`,
      );
    }
    const port = await freePort();
    dev = await startDev(port);
    baseUrl = `http://127.0.0.1:${port}`;
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (dev && dev.exitCode === null) {
    const exited = new Promise((resolve) => dev?.once('exit', resolve));
    dev.kill('SIGTERM');
    await exited;
  }
}, 60_000);

describe('the dashboard on npm run dev', () => {
  it('shows a placed order in the live feed within 10 s, with no page errors', async () => {
    // Prepare
    const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(`${baseUrl}/`);
    await page.locator('#live-state', { hasText: 'live: connected' }).waitFor({ timeout: 10_000 });

    // Act
    const response = await fetch(`${baseUrl}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        customerId: 'c-e2e-dashboard',
        email: 'ada@example.com',
        currency: 'EUR',
        items: [{ sku: 'SKU-BOOK', quantity: 1 }],
      }),
    });
    expect(response.status).toBe(202);
    const { orderId } = (await response.json()) as { orderId: string };
    const row = page.locator(`#feed tr[data-order-id="${orderId}"]`);
    await row.waitFor({ timeout: 10_000 });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // Assess
    expect(await row.locator('td').first().textContent()).toBe(orderId);
    expect(await page.content()).not.toContain('ada@example.com');
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
