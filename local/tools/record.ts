/**
 * `npm run record -- --topic orders.raw --count 5 --out events/recorded/orders-raw.json`: writes the latest
 * `count` records of a topic on the local broker as the MSK event Lambda would deliver (the same shape as the
 * fixtures unit tests load). Before writing, it checks that every schema id in the records means the same
 * schema in the live registry as in `events/registry.json`, so the recording decodes offline.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import avro from 'avsc';
import { Kafka, logLevel } from 'kafkajs';
import { type RawKafkaRecord, toMskEvent } from '../../shared/msk.js';
import type { RegistrySnapshot } from '../../shared/schema-registry.js';
import { registrySchemaSource } from '../../shared/schema-registry.js';
import { loadEvent } from '../../shared/testing/fixtures.js';
import { TOPIC_SPECS } from '../../shared/topology.js';
import { applyStackEnv } from '../stack/config.js';

/** The first byte of a Glue-framed value (its header version). */
const GLUE_HEADER_VERSION = 3;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { topic: { type: 'string' }, count: { type: 'string', default: '5' }, out: { type: 'string' } },
  });
  const known = TOPIC_SPECS.map((t) => t.name as string);
  if (!values.topic || !known.includes(values.topic))
    throw new Error(`--topic must be one of ${known.join(', ')}; got ${values.topic ?? 'nothing'}`);
  if (!values.out) throw new Error('--out <file> is required (e.g. events/recorded/orders-raw.json)');
  const count = Number(values.count);
  if (!(Number.isInteger(count) && count > 0 && count <= 10_000))
    throw new Error(`--count must be an integer from 1 to 10000, got ${values.count}`);
  const topic = values.topic;
  const config = applyStackEnv();
  const kafka = new Kafka({
    clientId: 'orderflow-record',
    brokers: [...config.kafkaBrokers],
    logLevel: logLevel.ERROR,
  });
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const wanted = offsets.filter((p) => BigInt(p.high) > BigInt(p.low));
  if (wanted.length === 0)
    throw new Error(
      `${topic} holds no records: produce some first (npm run simulate, or npm run dev and POST /orders)`,
    );

  const records: RawKafkaRecord[] = [];
  const consumer = kafka.consumer({ groupId: `orderflow-record-${process.pid}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const caughtUp = new Set<number>();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out reading the topic after 60 s')), 60_000);
    consumer
      .run({
        eachMessage: async ({ partition, message }) => {
          records.push({
            topic,
            partition,
            offset: message.offset,
            timestamp: Number(message.timestamp),
            key: message.key,
            value: message.value,
            headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
          });
          const high = offsets.find((p) => p.partition === partition)?.high ?? '0';
          if (BigInt(message.offset) + 1n >= BigInt(high)) caughtUp.add(partition);
          if (wanted.every((p) => caughtUp.has(p.partition))) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
    consumer.on(consumer.events.GROUP_JOIN, () => {
      for (const p of wanted) {
        const start = BigInt(p.high) - BigInt(count) > BigInt(p.low) ? BigInt(p.high) - BigInt(count) : BigInt(p.low);
        consumer.seek({ topic, partition: p.partition, offset: start.toString() });
      }
    });
  });
  await consumer.disconnect();

  const latest = records
    .sort((a, b) => a.timestamp - b.timestamp)
    .slice(-count)
    .sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
  // A Glue version id is a random UUID of this machine's emulator, which no offline snapshot can know: the
  // Glue-framed fixtures are generated (events/validate-order/generate.ts) against events/glue-registry.json.
  const glueFramed = latest.filter((r) => r.value && r.value.length > 0 && r.value[0] === GLUE_HEADER_VERSION);
  if (glueFramed.length > 0) {
    throw new Error(
      `${glueFramed.length} of the ${latest.length} latest records are Glue-framed (written with ORDERFLOW_SCHEMA_REGISTRY=glue); record Confluent-framed ones, or generate Glue fixtures with npm run fixtures`,
    );
  }
  const snapshot = loadEvent<RegistrySnapshot>('registry.json');
  const live = registrySchemaSource({ host: config.schemaRegistryUrl });
  for (const id of new Set(
    latest.flatMap((r) => (r.value && r.value.length >= 5 && r.value[0] === 0 ? [r.value.readUInt32BE(1)] : [])),
  )) {
    const recorded = snapshot.schemas[String(id)];
    const actual = avro.Type.forSchema(JSON.parse(await live.schemaById(id)) as avro.Schema);
    // Canonical form: the registry may drop docs or reorder attributes, which does not change the bytes.
    if (recorded === undefined || !actual.equals(avro.Type.forSchema(JSON.parse(recorded) as avro.Schema))) {
      throw new Error(
        `schema id ${id} in the live registry is not the schema events/registry.json records under that id; re-provision a fresh registry (npm run stack:down -- --wipe && npm run stack:up) so ids match`,
      );
    }
  }
  const event = toMskEvent(latest, {
    bootstrapServers: config.kafkaBrokers.join(','),
    eventSourceArn: 'arn:aws:kafka:us-east-1:000000000000:cluster/orderflow-local/recorded',
  });
  writeFileSync(values.out, `${JSON.stringify(event, null, 2)}\n`);
  console.log(`record: wrote ${latest.length} record(s) of ${topic} to ${values.out}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(`record: ${(error as Error).message}`);
    process.exit(1);
  });
}
