/**
 * The `npm run dev` an end-to-end test talks to: the one at `ORDERFLOW_DEV_URL` (default http://127.0.0.1:3000)
 * when it answers with the dashboard, else a fresh `local/dev/dev.ts` on a free port, stopped with the test. Fails,
 * naming the services that are down, when the local stack is not running.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createOrderflowClient, type OrderflowClient, type OrderRequest, statusRank } from '../../shared/client.js';
import { RULES } from '../../shared/topology.js';
import { ruleQueues } from '../provision/eventbridge.js';
import { REPO_ROOT } from '../stack/config.js';
import { coreHealth } from '../stack/health.js';
import { freePort } from '../stack/processes.js';
import { applyFunctionEnv } from './pipeline.js';

/** A dev server to test against. */
export interface DevServer {
  /** `http://127.0.0.1:<port>`; the live endpoint is `ws://127.0.0.1:<port>/live`. */
  readonly baseUrl: string;
  /** Stops the dev server if this helper started it. */
  stop(): Promise<void>;
}

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

/**
 * Starts `npm run dev` on `port` with `env` over this process's variables and resolves once it serves the order
 * API (its "order API on" line); `onOutput` gets everything it writes.
 */
export function startDev(
  port: number,
  onOutput?: (text: string) => void,
  env: NodeJS.ProcessEnv = {},
): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'local/dev/dev.ts'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env, PORT: String(port), NODE_OPTIONS: '', KAFKAJS_NO_PARTITIONER_WARNING: '1' },
  });
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2_000);
    onOutput?.(chunk.toString());
  });
  proc.stdout?.on('data', (chunk: Buffer) => onOutput?.(chunk.toString()));
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

/**
 * Waits until every rule's queue is empty (at most `timeoutMs`): a test before this one may have left bus events
 * behind (2,000 orders make 6,000 status changes), and a new order's changes would queue behind them.
 */
async function busQueuesDrained(timeoutMs = 120_000): Promise<void> {
  const sqs = new SQSClient({});
  const urls = await Promise.all(
    RULES.map(async (rule) => (await sqs.send(new GetQueueUrlCommand({ QueueName: ruleQueues(rule).queue }))).QueueUrl),
  );
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const depths = await Promise.all(
      urls.map(async (url) => {
        const { Attributes = {} } = await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: url,
            AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
          }),
        );
        return (
          Number(Attributes.ApproximateNumberOfMessages ?? 0) +
          Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
        );
      }),
    );
    const waiting = depths.reduce((a, b) => a + b, 0);
    if (waiting === 0) return;
    if (Date.now() > deadline)
      throw new Error(`${waiting} bus events still queued for the rules after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * Places one order with a fresh idempotency key, through `client` as any client would: one book in EUR unless
 * `overrides` say otherwise. Returns the order's id.
 *
 * @example
 * const orderId = await placeTestOrder(client, { customerId: 'c-e2e-live', paymentToken: 'tok_decline' });
 */
export async function placeTestOrder(
  client: OrderflowClient,
  overrides: Partial<OrderRequest> & Pick<OrderRequest, 'customerId'>,
): Promise<string> {
  const order: OrderRequest = {
    email: 'ada@example.com',
    currency: 'EUR',
    items: [{ sku: 'SKU-BOOK', quantity: 1 }],
    ...overrides,
  };
  const { orderId } = await client.placeOrder(order, { idempotencyKey: randomUUID() });
  return orderId;
}

/**
 * Places one order and waits (at most `timeoutMs`) until it is final: a freshly started pipeline first joins its
 * consumer groups (a rebalance can wait out the session of a member that left uncleanly), so a test's own timing
 * starts on a warm pipeline.
 */
async function warmedUp(baseUrl: string, timeoutMs = 120_000): Promise<void> {
  const client = createOrderflowClient({ baseUrl });
  const orderId = await placeTestOrder(client, { customerId: 'c-e2e-warm-up', email: 'warm-up@example.com' });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status } = await client.getOrder(orderId).catch(() => ({ status: undefined }));
    if (status !== undefined && statusRank(status) === 2) return;
    if (Date.now() > deadline) throw new Error(`the warm-up order ${orderId} was not final after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * The running dev server, or one started for the test, warmed up and once it has worked off the bus events queued before it.
 * With `options.env`, always one of its own with those variables (a running one may be configured otherwise).
 *
 * @example
 * const dev = await useDevServer(); // in beforeAll; await dev.stop() in afterAll
 * const glue = await useDevServer({ env: { ORDERFLOW_SCHEMA_REGISTRY: 'glue' } });
 */
export async function useDevServer(options: { readonly env?: NodeJS.ProcessEnv } = {}): Promise<DevServer> {
  const running = process.env.ORDERFLOW_DEV_URL ?? 'http://127.0.0.1:3000';
  if (!options.env && (await devServerAt(running))) {
    await busQueuesDrained();
    await warmedUp(running);
    return { baseUrl: running, stop: async () => {} };
  }
  const down = (await coreHealth(applyFunctionEnv())).filter((s) => !s.healthy);
  if (down.length > 0) {
    throw new Error(
      `the local stack is not running (${down.map((s) => `${s.service}: ${s.detail}`).join('; ')}): start it with npm run stack:up`,
    );
  }
  const port = await freePort();
  const proc = await startDev(port, undefined, options.env);
  await busQueuesDrained();
  await warmedUp(`http://127.0.0.1:${port}`);
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGTERM');
      // A dev process left running would keep consuming the rule queues and the consumer groups of the tests
      // after this one: it gets 20 s to drain, then SIGKILL (its uncommitted batches are redelivered, harmlessly).
      const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
