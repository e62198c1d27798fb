import { EventEmitter } from 'node:events';
import { describe, expect, it } from '@jest/globals';
import {
  type ISocketFactory,
  Kafka,
  type KafkaConfig,
  type LogEntry,
  logLevel,
  Partitioners,
  type Producer,
} from 'kafkajs';
import { KAFKA_LOG_LEVELS, KAFKA_PARTITIONERS, kafkaProducer } from './kafkajs-producer.js';

/** What a producer did when asked to connect to brokers that refuse: the sockets it opened and what it logged. */
interface Attempt {
  readonly sockets: string[];
  readonly logs: string[];
  readonly error: string;
}

/**
 * Connects a producer built by `build` to two brokers whose sockets fail at once (no network), and records the
 * sockets it asked for, its log lines (without timestamps) and the error it gave up with.
 */
async function attempt(build: (config: KafkaConfig) => Producer): Promise<Attempt> {
  const sockets: string[] = [];
  const logs: string[] = [];
  const socketFactory: ISocketFactory = ({ host, port, ssl }) => {
    sockets.push(`${host}:${port}${ssl ? ' tls' : ''}`);
    const socket = new EventEmitter() as unknown as ReturnType<ISocketFactory>;
    Object.assign(socket, { setKeepAlive() {}, end() {}, destroy() {}, unref() {}, write: () => true });
    setImmediate(() => socket.emit('error', Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })));
    return socket;
  };
  const producer = build({
    clientId: 'equivalence',
    brokers: ['127.0.0.1:1', '127.0.0.2:2'],
    socketFactory,
    retry: { retries: 1, initialRetryTime: 1, maxRetryTime: 2 },
    logLevel: logLevel.DEBUG,
    logCreator:
      () =>
      ({ namespace, label, log: { message, timestamp: _t, ...rest } }: LogEntry) =>
        logs.push(
          `${label} [${namespace}] ${message} ${JSON.stringify({ ...rest, retryTime: undefined, stack: undefined })}`,
        ),
  });
  const error = await producer.connect().then(
    () => 'connected',
    (e: Error) => `${e.name}: ${e.message}`,
  );
  return { sockets, logs, error };
}

describe('kafkaProducer', () => {
  it("builds the producer kafkajs' root builds: same sockets, log lines and error for the same config", async () => {
    // Prepare
    const options = {
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    } as const;

    // Act
    const ours = await attempt((config) =>
      kafkaProducer(config, { ...options, createPartitioner: KAFKA_PARTITIONERS.DefaultPartitioner }),
    );
    const theirs = await attempt((config) =>
      new Kafka(config).producer({ ...options, createPartitioner: Partitioners.DefaultPartitioner }),
    );

    // Assess
    expect(ours.error).toBe(theirs.error);
    expect(ours.error).toMatch(/^KafkaJS\w+: Connection error: refused$/);
    expect(ours.sockets.length).toBeGreaterThan(1);
    expect(ours.sockets).toEqual(theirs.sockets);
    expect(ours.logs).toEqual(theirs.logs);
  });

  it("exposes kafkajs' own log levels and partitioners", () => {
    // Assess
    expect(KAFKA_LOG_LEVELS).toEqual(logLevel);
    expect(KAFKA_PARTITIONERS.DefaultPartitioner).toBe(Partitioners.DefaultPartitioner);
    expect(Object.keys(KAFKA_PARTITIONERS).sort()).toEqual(Object.keys(Partitioners).sort());
  });
});
