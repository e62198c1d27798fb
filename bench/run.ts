/**
 * `npm run bench`: decode-and-handle throughput of a 10,000-record MSK batch of OrderPlaced through
 * validate-order with in-memory ports, against (a) the bare codec decoding the same batch and (b) the Powertools
 * Kafka consumer deserializing it, and the bare codec decoding and encoding the same records in the Confluent, the
 * Glue and the zlib Glue wire format. All run interleaved, round after round, so a noisy neighbour slows them
 * alike; we report the median of each and the ratios of medians. `--e2e` adds the end-to-end benchmark
 * (bench/e2e.ts), which needs the local stack. `--load [--rate N --duration S]` runs only the load benchmark
 * (bench/load.ts) against `npm run dev`, which needs the local stack too; `--emulators [--no-moto]` compares the
 * AWS emulators with moto (bench/emulators.ts). `--bundles` runs only the bundle benchmark (bench/bundles.ts): each
 * function bundled as the stack bundles it, its size, heaviest packages and import time. `--v8 [--rate N --duration
 * S --variants "<flags>;<flags>"]` counts what V8 compiles in `npm run dev` under steady load (bench/v8.ts).
 */
import { performance } from 'node:perf_hooks';
import type { Context } from 'aws-lambda';

if (process.argv.includes('--emulators')) {
  // Dynoxide and MiniStack against moto on the same workloads, each on fresh instances of its own.
  const { parseEmulatorArgs, runEmulatorBench } = await import('./emulators.js');
  await runEmulatorBench(parseEmulatorArgs(process.argv.slice(2)));
  process.exit(0);
}

if (process.argv.includes('--bundles')) {
  const { runBundleBench } = await import('./bundles.js');
  await runBundleBench();
  process.exit(0);
}

if (process.argv.includes('--v8')) {
  // What V8 compiles in npm run dev under steady load, per set of V8 flags (bench/v8.ts); needs the local stack.
  const { parseV8Args, runV8Bench } = await import('./v8.js');
  await runV8Bench(parseV8Args(process.argv.slice(2)));
  process.exit(0);
}

if (process.argv.includes('--load')) {
  // Before the Powertools settings below: the dev process it starts inherits this environment, and must run as
  // `npm run dev` does.
  const { parseLoadArgs, runLoadBench } = await import('./load.js');
  await runLoadBench(parseLoadArgs(process.argv.slice(2)));
  process.exit(0);
}

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
process.env.POWERTOOLS_TRACE_ENABLED = 'false';

const { kafkaConsumer } = await import('@aws-lambda-powertools/kafka');
const { handleKafkaBatch } = await import('../shared/lambda.js');
const { recordsOf } = await import('../shared/msk.js');
const { eventPublisher } = await import('../shared/kafka.js');
const { EVENT_SCHEMAS } = await import('../shared/schemas.generated.js');
const { MemoryKafka, mskEventOf, recordedCodec } = await import('../shared/testing/fixtures.js');
const { validateOrder } = await import('../functions/validate-order/validate-order.js');

const RECORDS = Number(process.env.BENCH_RECORDS ?? 10_000);
const PARTITIONS = 6;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const SKUS = ['SKU-BOOK', 'SKU-MUG', 'SKU-TSHIRT', 'SKU-STICKERS', 'SKU-KEYBOARD'];

/** The batch's events, by partition. */
function batchEvents() {
  const parts = [];
  for (let p = 0; p < PARTITIONS; p += 1) {
    const events = [];
    for (let i = p; i < RECORDS; i += PARTITIONS) {
      events.push({
        type: 'OrderPlaced' as const,
        eventId: `e-${i}`,
        orderId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        occurredAt: 1_763_700_000_000 + i,
        correlationId: `c-${i}`,
        customerId: `cust-${i % 100}`,
        email: `customer${i % 100}@example.com`,
        currency: 'EUR',
        items: [
          { sku: SKUS[i % SKUS.length] as string, quantity: 1 + (i % 3) },
          { sku: SKUS[(i + 1) % SKUS.length] as string, quantity: 1 },
        ],
        paymentToken: i % 2 === 0 ? 'tok_visa' : null,
      });
    }
    parts.push(events);
  }
  return parts;
}

/** The batch as one MSK event, its values framed by `codec`. */
async function buildBatch(codec: ReturnType<typeof recordedCodec>) {
  const parts = [];
  for (const [p, events] of batchEvents().entries()) parts.push(await mskEventOf(codec, events, { partition: p }));
  const records = Object.assign({}, ...parts.map((e) => e.records));
  return { ...parts[0], records } as Awaited<ReturnType<typeof mskEventOf>>;
}

const event = await buildBatch(recordedCodec());
// The same records in the Glue wire format (AWS's default, uncompressed) and zlib-compressed (compression byte 5).
const glueEvent = await buildBatch(recordedCodec('glue'));
const glueZlibEvent = await buildBatch(recordedCodec('glue', { glueCompression: true }));
const allEvents = batchEvents().flat();
const count = recordsOf(event).length;
// The Powertools consumer reads plain Avro bodies (what the ESM hands over once its schema-registry integration
// has resolved the schema), so it gets the same records without the 5-byte Confluent header.
const plainEvent = {
  ...event,
  records: Object.fromEntries(
    Object.entries(event.records).map(([k, list]) => [
      k,
      list.map((r) => ({
        ...r,
        value: Buffer.from(r.value ?? '', 'base64')
          .subarray(5)
          .toString('base64'),
      })),
    ]),
  ),
};
const context = { functionName: 'bench', awsRequestId: 'bench', getRemainingTimeInMillis: () => 900_000 } as Context;
const prices = new Map(SKUS.map((sku, i) => [sku, 500 + i * 1000]));

/** Decodes every record of `batch` with a fresh codec (both recorded registries): one schema lookup, then cached. */
async function decodeAll(batch: typeof event): Promise<number> {
  const codec = recordedCodec();
  let decoded = 0;
  for (const r of recordsOf(batch)) {
    await codec.decode(r.value, r);
    decoded += 1;
  }
  return decoded;
}

/** Encodes the batch's events with `codec`. */
async function encodeAll(codec: ReturnType<typeof recordedCodec>): Promise<number> {
  let encoded = 0;
  for (const e of allEvents) {
    await codec.encode(e);
    encoded += 1;
  }
  return encoded;
}

const variants: Record<string, () => Promise<number>> = {
  'validate-order (decode + validate + encode + publish)': async () => {
    const codec = recordedCodec();
    const kafka = new MemoryKafka();
    const publisher = eventPublisher(codec, kafka.producer);
    const ports = {
      catalog: {
        pricesFor: async (skus: readonly string[]) =>
          new Map(skus.flatMap((s) => (prices.has(s) ? [[s, prices.get(s) as number]] : []))),
        isBlocked: async () => false,
      },
      publisher,
      clock: () => 1_763_700_000_000,
    };
    const response = await handleKafkaBatch(event, {
      consumer: 'validate-order',
      codec,
      deadLetters: kafka.deadLetterSink,
      handle: async (e) => {
        await validateOrder(e, ports);
      },
    });
    if (response.batchItemFailures.length > 0 || kafka.records.length !== count)
      throw new Error('bench: validate-order did not process every record');
    return count;
  },
  'bare codec decode': () => decodeAll(event),
  'bare codec decode, Glue': () => decodeAll(glueEvent),
  'bare codec decode, Glue zlib': () => decodeAll(glueZlibEvent),
  'bare codec encode': () => encodeAll(recordedCodec()),
  'bare codec encode, Glue': () => encodeAll(recordedCodec('glue')),
  'bare codec encode, Glue zlib': () => encodeAll(recordedCodec('glue', { glueCompression: true })),
  'Powertools kafkaConsumer (avro)': async () => {
    let decoded = 0;
    const handler = kafkaConsumer(
      async (e: { records: { value: unknown }[] }) => {
        for (const r of e.records) if (r.value) decoded += 1;
      },
      { value: { type: 'avro', schema: JSON.stringify(EVENT_SCHEMAS.OrderPlaced) } },
    );
    await handler(plainEvent as never, context);
    return decoded;
  },
};

const times: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (let round = 0; round <= ROUNDS; round += 1) {
  for (const [name, run] of Object.entries(variants)) {
    const started = performance.now();
    const n = await run();
    const ms = performance.now() - started;
    if (n !== count) throw new Error(`bench: ${name} handled ${n} of ${count} records`);
    if (round > 0) times[name]?.push(ms); // round 0 warms up the JIT and the caches
  }
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};
const full = median(times['validate-order (decode + validate + encode + publish)'] ?? []);
const bare = median(times['bare codec decode'] ?? []);
const powertools = median(times['Powertools kafkaConsumer (avro)'] ?? []);
const rate = (ms: number) => Math.round((count / ms) * 1000).toLocaleString('en');
console.log(
  `batch: ${count.toLocaleString('en')} OrderPlaced records over ${PARTITIONS} partitions; ${ROUNDS} rounds after a warm-up; medians`,
);
console.log(`  validate-order, decode + handle:  ${rate(full)} records/s (${full.toFixed(0)} ms per batch)`);
console.log(`  bare codec decode:                ${rate(bare)} records/s (${bare.toFixed(0)} ms)`);
console.log(`  Powertools kafkaConsumer (avro):  ${rate(powertools)} records/s (${powertools.toFixed(0)} ms)`);
console.log('  wire formats, bare codec (same records, same run):');
for (const op of ['decode', 'encode']) {
  const confluent = median(times[`bare codec ${op}`] ?? []);
  for (const [label, name] of [
    ['Confluent', `bare codec ${op}`],
    ['Glue', `bare codec ${op}, Glue`],
    ['Glue zlib', `bare codec ${op}, Glue zlib`],
  ] as const) {
    const ms = median(times[name] ?? []);
    console.log(
      `    ${op} ${label.padEnd(10)} ${rate(ms).padStart(9)} records/s (${ms.toFixed(0)} ms, ${(ms / confluent).toFixed(2)}x Confluent's time)`,
    );
  }
}
console.log(
  `  ratio validate-order / bare codec:       ${(full / bare).toFixed(2)}x the time (${((bare / full) * 100).toFixed(0)}% of the codec's throughput)`,
);
console.log(
  `  ratio Powertools consumer / bare codec:  ${(powertools / bare).toFixed(1)}x the time (it re-parses the Avro schema for every record)`,
);

if (process.argv.includes('--e2e')) {
  const { runE2eBench } = await import('./e2e.js');
  await runE2eBench();
}
