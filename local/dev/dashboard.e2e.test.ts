/**
 * The dashboard against `npm run dev` on the local stack, in headless Chromium: an order placed with POST /orders
 * shows in the live feed within 10 s, with no page errors; the page is saved to docs/dashboard.png. Uses the dev
 * server at `ORDERFLOW_DEV_URL` (default http://127.0.0.1:3000) when one answers, else starts `npm run dev` on a
 * free port. Needs `npm run stack:up` first, the live functions (live-connections, live-notifier) and
 * Debian's `chromium` (or `CHROMIUM_PATH`).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Browser, chromium } from 'playwright-core';
import { createOrderflowClient } from '../../shared/client.js';
import { REPO_ROOT } from '../stack/config.js';
import { type DevServer, placeTestOrder, useDevServer } from './testing.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = path.join(REPO_ROOT, 'docs', 'dashboard.png');

let browser: Browser;
let baseUrl: string;
let dev: DevServer | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`);
  }
  dev = await useDevServer();
  baseUrl = dev.baseUrl;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}, 360_000);

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
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
    const orderId = await placeTestOrder(createOrderflowClient({ baseUrl }), { customerId: 'c-e2e-dashboard' });
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
