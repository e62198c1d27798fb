/**
 * Live order updates against `npm run dev` on the local stack, through the same functions that run on AWS
 * (live-connections behind `ws://.../live`, live-notifier on the OrderStatusChanged rule): a subscriber sees
 * every transition of a good order, a declined one and a rejected one; a late subscriber gets the current status
 * first; the typed client's `watchOrder` follows an order to its final status; and the dashboard, in headless
 * Chromium, shows a placed order in its live feed within 10 s with no page errors (the page is saved to
 * docs/dashboard.png). One dev server for all of them: the one at `ORDERFLOW_DEV_URL` (default
 * http://127.0.0.1:3000) when one answers, else `npm run dev` on a free port. Needs `npm run stack:up` first and
 * Debian's `chromium` (or `CHROMIUM_PATH`).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Browser, chromium } from 'playwright-core';
import WebSocket from 'ws';
import { createOrderflowClient, type OrderRequest, statusRank } from '../../shared/client.js';
import type { OrderStatusMessage, ServerMessage } from '../../shared/live-protocol.js';
import { REPO_ROOT } from '../stack/config.js';
import { type DevServer, placeTestOrder, useDevServer } from './testing.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = path.join(REPO_ROOT, 'docs', 'dashboard.png');

let dev: DevServer;

beforeAll(async () => {
  dev = await useDevServer();
}, 360_000);

afterAll(async () => {
  await dev?.stop();
}, 60_000);

/** A raw protocol connection that keeps every message it receives. */
async function connect(): Promise<{ messages: ServerMessage[]; send(m: unknown): void; close(): void }> {
  const socket = new WebSocket(`${dev.baseUrl.replace(/^http/, 'ws')}/live`);
  const messages: ServerMessage[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(data.toString()) as ServerMessage));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return { messages, send: (m) => socket.send(JSON.stringify(m)), close: () => socket.close() };
}

/**
 * Subscribes `live` to `orderId` and waits for the server's acknowledgement. A subscriber of every order (`*`) may
 * get other orders' changes (an earlier suite's, still settling) even before its acknowledgement: the server
 * registers the subscription, then acknowledges it, and a push can come in between, as on API Gateway.
 */
async function subscribe(live: Awaited<ReturnType<typeof connect>>, orderId: string): Promise<void> {
  live.send({ action: 'subscribe', orderId });
  const deadline = Date.now() + 10_000;
  const acked = () => live.messages.some((m) => m.type === 'subscribed' && m.orderId === orderId);
  while (!acked() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  if (!acked())
    throw new Error(`no subscribed acknowledgement for ${orderId} within 10 s; got ${JSON.stringify(live.messages)}`);
}

/** Places an order of `items` over HTTP (paid with `paymentToken`, if given); returns its id. */
function place(items: OrderRequest['items'], paymentToken?: string): Promise<string> {
  return placeTestOrder(createOrderflowClient({ baseUrl: dev.baseUrl }), {
    customerId: 'c-e2e-live',
    items,
    ...(paymentToken ? { paymentToken } : {}),
  });
}

/**
 * The status messages of `orderId` once one of them is final (or after `timeoutMs`), plus any that arrive in the
 * next 1.5 s, each status once, in lifecycle order: changes of one order may be delivered twice or out of order
 * (EventBridge, and the notifier's concurrent invocations), which the protocol leaves to clients.
 */
async function statusesOf(messages: ServerMessage[], orderId: string, timeoutMs = 30_000) {
  const of = () => messages.filter((m): m is OrderStatusMessage => m.type === 'order.status' && m.orderId === orderId);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !of().some((m) => statusRank(m.status) === 2)) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  // Delivery is at least once: a change may come twice (a retried publication), and a client keeps the first.
  const firsts = of().filter((m, i, all) => all.findIndex((o) => o.status === m.status) === i);
  return firsts.sort((a, b) => statusRank(a.status) - statusRank(b.status));
}

describe('live updates on npm run dev', () => {
  it.concurrent('pushes PLACED, VALIDATED, CONFIRMED for a good order to a subscriber of every order', async () => {
    // Prepare
    const live = await connect();
    await subscribe(live, '*');

    // Act
    const orderId = await place([{ sku: 'SKU-BOOK', quantity: 1 }]);
    const statuses = await statusesOf(live.messages, orderId);
    live.close();

    // Assess: the acknowledgement came before any change of the order placed after it.
    const ackAt = live.messages.findIndex((m) => m.type === 'subscribed');
    const firstOfOrder = live.messages.findIndex((m) => m.type === 'order.status' && m.orderId === orderId);
    expect(live.messages[ackAt]).toEqual({ type: 'subscribed', orderId: '*' });
    expect(ackAt).toBeLessThan(firstOfOrder);
    expect(statuses.map((m) => m.status)).toEqual(['PLACED', 'VALIDATED', 'CONFIRMED']);
    expect(statuses.every((m) => !Number.isNaN(Date.parse(m.at)))).toBe(true);
  }, 60_000);

  it.concurrent('pushes CANCELLED with the reason for a declined payment, and REJECTED for an unknown SKU', async () => {
    // Prepare
    const live = await connect();
    await subscribe(live, '*');

    // Act
    const declined = await place([{ sku: 'SKU-BOOK', quantity: 1 }], 'tok_decline');
    const unknown = await place([{ sku: 'SKU-NO-SUCH-THING', quantity: 1 }]);
    const declinedStatuses = await statusesOf(live.messages, declined);
    const unknownStatuses = await statusesOf(live.messages, unknown);
    live.close();

    // Assess
    expect(declinedStatuses.map((m) => m.status)).toEqual(['PLACED', 'VALIDATED', 'CANCELLED']);
    expect(declinedStatuses.at(-1)).toMatchObject({ status: 'CANCELLED', reason: 'PAYMENT_DECLINED' });
    expect(unknownStatuses.map((m) => m.status)).toEqual(['PLACED', 'REJECTED']);
    expect(unknownStatuses.at(-1)?.reason).toBe('UNKNOWN_SKU');
  }, 60_000);

  it.concurrent('gives a late subscriber the current status first', async () => {
    // Prepare
    const watcher = await connect();
    await subscribe(watcher, '*');
    const orderId = await place([{ sku: 'SKU-BOOK', quantity: 1 }]);
    await statusesOf(watcher.messages, orderId);
    watcher.close();

    // Act
    const late = await connect();
    late.send({ action: 'subscribe', orderId });
    const deadline = Date.now() + 10_000;
    while (late.messages.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    late.close();

    // Assess
    expect(late.messages.slice(0, 2)).toEqual([
      { type: 'subscribed', orderId },
      expect.objectContaining({ type: 'order.status', orderId, status: 'CONFIRMED' }),
    ]);
  }, 60_000);

  it.concurrent('answers a malformed message with an error and keeps the connection', async () => {
    // Prepare
    const live = await connect();

    // Act
    live.send({ action: 'dance' });
    await subscribe(live, '*');
    live.close();

    // Assess: an error answers the malformed message and the subscription sent after it still works. Each message
    // is its own invocation (as with API Gateway's routes), so the two answers may come in either order, and other
    // orders' changes may come between them (see subscribe).
    const answers = live.messages.filter((m) => m.type !== 'order.status');
    expect(answers).toHaveLength(2);
    expect(answers).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'error', code: 'INVALID_MESSAGE' }),
        { type: 'subscribed', orderId: '*' },
      ]),
    );
  }, 30_000);

  it.concurrent("follows an order to its final status with the typed client's watchOrder", async () => {
    // Prepare
    const client = createOrderflowClient({ baseUrl: dev.baseUrl, WebSocket: WebSocket as never });
    const orderId = await placeTestOrder(client, { customerId: 'c-e2e-live' });

    // Act
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no final status for ${orderId}; saw ${seen}`)), 30_000);
      client.watchOrder(orderId, (message) => {
        seen.push(message.status);
        if (message.status === 'CONFIRMED') {
          clearTimeout(timer);
          resolve();
        }
      });
    });

    // Assess: statuses only move forward; the current one may already be past PLACED when the watch starts.
    expect(seen.at(-1)).toBe('CONFIRMED');
    expect(new Set(seen).size).toBe(seen.length);
    expect((await client.getOrder(orderId)).status).toBe('CONFIRMED');
  }, 60_000);
});

describe('the dashboard on npm run dev', () => {
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`);
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('shows a placed order in the live feed within 10 s, with no page errors', async () => {
    // Prepare
    const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(`${dev.baseUrl}/`);
    await page.locator('#live-state', { hasText: 'live: connected' }).waitFor({ timeout: 10_000 });

    // Act
    const orderId = await placeTestOrder(createOrderflowClient({ baseUrl: dev.baseUrl }), {
      customerId: 'c-e2e-dashboard',
    });
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
