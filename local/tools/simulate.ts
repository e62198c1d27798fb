/**
 * `npm run simulate -- --rate 200 --duration 60 [--mix good=85,decline=5,oos=4,unknown=2,flaky=2,poison=2]`:
 * produces OrderPlaced records (key = orderId) straight to the raw orders topic at a steady rate, with a mix of
 * good orders, declined payments, out-of-stock and unknown SKUs, flaky payments and poison records. Shows a
 * progress bar and prints a summary. Bounded: at most `rate x duration` records, on the local broker only.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import type { EventOf } from '../../shared/events.js';
import { TOPICS } from '../../shared/topology.js';
import { readSeed } from '../dev/seed.js';
import { localCodec } from '../stack/codec.js';
import { applyStackEnv } from '../stack/config.js';

/** Kinds of record the simulator produces. */
export const KINDS = ['good', 'decline', 'oos', 'unknown', 'flaky', 'poison'] as const;
/** One kind of simulated record. */
export type Kind = (typeof KINDS)[number];

/** Parses `good=85,decline=5,...` into weights; unknown kinds and negative weights are errors. */
export function parseMix(text: string): Record<Kind, number> {
  const mix = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>;
  for (const part of text.split(',').filter(Boolean)) {
    const [name, weight] = part.split('=');
    if (!KINDS.includes(name as Kind)) throw new Error(`--mix: unknown kind ${name} (kinds: ${KINDS.join(', ')})`);
    const value = Number(weight);
    if (!Number.isFinite(value) || value < 0)
      throw new Error(`--mix: weight of ${name} must be a number >= 0, got ${weight}`);
    mix[name as Kind] = value;
  }
  if (Object.values(mix).every((w) => w === 0)) throw new Error('--mix: at least one weight must be above 0');
  return mix;
}

/** Picks a kind by weight for a uniform random `u` in [0, 1). */
export function pickKind(mix: Record<Kind, number>, u: number): Kind {
  const total = KINDS.reduce((sum, k) => sum + mix[k], 0);
  let acc = 0;
  for (const kind of KINDS) {
    acc += mix[kind] / total;
    if (u < acc) return kind;
  }
  return 'good';
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string', default: '50' },
      duration: { type: 'string', default: '30' },
      mix: { type: 'string', default: 'good=85,decline=5,oos=4,unknown=2,flaky=2,poison=2' },
    },
  });
  const rate = Number(values.rate);
  const duration = Number(values.duration);
  if (!(rate > 0 && rate <= 5_000))
    throw new Error(`--rate must be between 1 and 5000 orders per second, got ${values.rate}`);
  if (!(duration > 0 && duration <= 3_600))
    throw new Error(`--duration must be between 1 and 3600 seconds, got ${values.duration}`);
  const mix = parseMix(values.mix);
  const seed = readSeed();
  const inStock = seed.skus.filter((s) => s.stock > 1_000).map((s) => s.sku);
  const outOfStock = seed.skus.filter((s) => s.stock === 0).map((s) => s.sku);
  const config = applyStackEnv();
  const codec = localCodec(config);
  const kafka = new Kafka({
    clientId: 'orderflow-simulate',
    brokers: [...config.kafkaBrokers],
    logLevel: logLevel.ERROR,
  });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();

  const total = Math.round(rate * duration);
  const counts = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>;
  const started = Date.now();
  let lastLine = started;
  let sent = 0;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)] as T;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * rate) + 1);
    const messages = [];
    for (; sent < due; sent += 1) {
      const kind = pickKind(mix, Math.random());
      counts[kind] += 1;
      const orderId = randomUUID();
      if (kind === 'poison') {
        messages.push({ key: orderId, value: Buffer.from(`not avro ${orderId}`) });
        continue;
      }
      const event: EventOf<'OrderPlaced'> = {
        type: 'OrderPlaced',
        eventId: randomUUID(),
        orderId,
        occurredAt: Date.now(),
        correlationId: randomUUID(),
        customerId: `sim-${Math.floor(Math.random() * 1000)}`,
        email: `sim+${orderId.slice(0, 8)}@example.com`,
        currency: pick(['EUR', 'USD', 'GBP']),
        items: [
          {
            sku:
              kind === 'oos'
                ? pick(outOfStock)
                : kind === 'unknown'
                  ? `SKU-UNKNOWN-${orderId.slice(0, 4)}`
                  : pick(inStock),
            quantity: 1 + Math.floor(Math.random() * 3),
          },
        ],
        paymentToken: kind === 'decline' ? 'tok_decline' : kind === 'flaky' ? 'tok_flaky' : 'tok_visa',
      };
      const encoded = await codec.encode(event);
      messages.push({ key: encoded.key, value: encoded.value, headers: encoded.headers });
    }
    if (messages.length > 0) await producer.send({ topic: TOPICS.ORDERS_RAW, acks: -1, messages });
    const done = sent / total;
    const bar = '#'.repeat(Math.round(done * 30)).padEnd(30, '.');
    const achieved = sent / Math.max(0.001, (Date.now() - started) / 1000);
    const progress = `[${bar}] ${Math.round(done * 100)}% ${sent}/${total} · ${achieved.toFixed(1)}/s`;
    // A terminal gets the bar redrawn; a pipe or log file one line per 5 s (and the last).
    if (process.stderr.isTTY) process.stderr.write(`\r${progress}`);
    else if (Date.now() - lastLine >= 5_000 || sent === total) {
      process.stderr.write(`${progress}\n`);
      lastLine = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await producer.disconnect();
  const seconds = (Date.now() - started) / 1000;
  if (process.stderr.isTTY) process.stderr.write('\n');
  console.log(
    `simulate: produced ${sent} records in ${seconds.toFixed(1)} s (${(sent / seconds).toFixed(1)}/s offered ${rate}/s)`,
  );
  console.log(`  ${KINDS.map((k) => `${k} ${counts[k]}`).join(' · ')}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(`simulate: ${(error as Error).message}`);
    process.exit(1);
  });
}
