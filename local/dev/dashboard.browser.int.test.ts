/**
 * Smoke test of the dashboard page in headless Chromium, with no stack: the dashboard route serves the page over
 * fake data sources and `/live` runs a fake route handler that pushes status changes. Needs Debian's `chromium`
 * (`apt-get install chromium`) or `CHROMIUM_PATH`.
 */
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Browser, chromium } from 'playwright-core';
import type { DashboardSources } from './dashboard/data.js';
import { dashboardRoute } from './dashboard/routes.js';
import { mountRoute, serveOrderApi } from './http.js';
import { attachLiveGateway, type LiveGateway } from './live.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const sources: DashboardSources = {
  metrics: async () => ({
    ordersPerSecond: 2.5,
    minutes: Array.from({ length: 15 }, (_, i) => ({
      minute: `2025-11-21T04:${String(30 + i).padStart(2, '0')}`,
      ordersPerSecond: i / 10,
      revenueCents: { EUR: i * 1000, USD: i * 500, GBP: 0 },
    })),
    averageOrderValueCents: { EUR: 4250, USD: null, GBP: null },
  }),
  lag: async () => ({
    partitions: [
      {
        consumer: 'validate-order',
        groupId: 'orderflow.validate-order',
        topic: 'orders.raw',
        partition: 0,
        committed: 10,
        high: 12,
        lag: 2,
      },
    ],
  }),
  dlq: async () => ({
    count: 1,
    latest: [
      {
        where: 'orders.dlq-0@3',
        kind: 'handler',
        reason: 'VALIDATION_ERROR',
        consumer: 'validate-order',
        source: 'orders.raw-2@41',
        failedAt: '2025-11-21T04:40:00.000Z',
        detail: 'email a***@example.com is blocked',
      },
    ],
  }),
  redrive: async () => ({ redriven: 1, scanned: 1, duplicates: 0 }),
  pipeline: async () => ({
    backlog: 150,
    maxBacklog: 150,
    accepted: 900,
    finished: 750,
    shed: 42,
    finishedPerSecond: 18.5,
    awsCalls: { 'order-status': { 'DynamoDB.BatchGetItem': 10, 'EventBridge.PutEvents': 5 }, 'order-api': {} },
  }),
};

let server: Server;
let gateway: LiveGateway;
let browser: Browser;
let baseUrl: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`);
  }
  server = await serveOrderApi(async () => ({ statusCode: 404, body: '{"error":"not found"}' }), { port: 0 });
  // The fake live-connections: acknowledges the subscription, then the order moves PLACED -> VALIDATED, with a
  // duplicate and a regression the page must ignore.
  gateway = attachLiveGateway(server, {
    log: () => {},
    routeHandler: async (event) => {
      if (event.requestContext.routeKey !== 'subscribe') return { statusCode: 200 };
      const id = event.requestContext.connectionId;
      const status = (s: string) =>
        JSON.stringify({ type: 'order.status', orderId: 'ord_smoke_1', status: s, at: new Date().toISOString() });
      gateway.post(id, JSON.stringify({ type: 'subscribed', orderId: '*' }));
      gateway.post(id, status('PLACED'));
      setTimeout(() => {
        gateway.post(id, status('VALIDATED'));
        gateway.post(id, status('VALIDATED'));
        gateway.post(id, status('PLACED'));
      }, 300);
      return { statusCode: 200 };
    },
  });
  mountRoute(server, gateway.handleRequest);
  mountRoute(server, dashboardRoute(sources));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.close();
  await new Promise((resolve) => server?.close(resolve));
});

describe('the dashboard page', () => {
  it('renders an order pushed over /live, updated in place, and every panel, with no page errors', async () => {
    // Prepare
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });

    // Act
    await page.goto(`${baseUrl}/`);
    const row = page.locator('#feed tr[data-order-id="ord_smoke_1"]');
    await row.locator('td.status', { hasText: 'VALIDATED' }).waitFor({ timeout: 10_000 });
    await page.locator('#dlq tr').first().waitFor();
    await page.locator('#lag tr').first().waitFor();
    await page.locator('#calls tr').first().waitFor();
    await page.waitForTimeout(300);
    const feed = await page.locator('#feed tr').allTextContents();

    // Assess
    expect(feed).toHaveLength(1);
    expect(feed[0]).toContain('ord_smoke_1');
    expect(await row.locator('td.status').textContent()).toBe('VALIDATED');
    expect(await page.locator('#live-state').textContent()).toBe('live: connected');
    expect(await page.locator('#ops-now').textContent()).toBe('2.5');
    expect(await page.locator('#aov').textContent()).toBe('€42.50');
    expect(await page.locator('#dlq-count').textContent()).toBe('1');
    expect(await page.locator('#backlog').textContent()).toBe('150 / 150');
    expect(await page.locator('#shed').textContent()).toBe('42');
    expect(await page.locator('#calls').textContent()).toContain('EventBridge.PutEvents');
    expect(await page.locator('#dlq').textContent()).toContain('orders.raw-2@41');
    expect(await page.locator('#redrive button').allTextContents()).toContain('redrive validate-order');
    expect(await page.locator('#ops-chart polyline').count()).toBe(1);
    expect(await page.locator('#revenue-chart polyline').count()).toBe(3);
    expect(errors).toEqual([]);
    await page.close();
  }, 30_000);

  it('redrives a consumer from its button', async () => {
    // Prepare
    const page = await browser.newPage();
    await page.goto(`${baseUrl}/`);

    // Act
    await page.locator('#redrive button', { hasText: 'redrive validate-order' }).click();

    // Assess
    await page.locator('#redrive-result', { hasText: 'redrove 1 letter(s) of validate-order' }).waitFor();
    await page.close();
  }, 30_000);

  it('refuses a redrive without the dashboard header', async () => {
    // Act
    const response = await fetch(`${baseUrl}/_dashboard/redrive?consumer=validate-order`, { method: 'POST' });

    // Assess
    expect(response.status).toBe(403);
  });
});
