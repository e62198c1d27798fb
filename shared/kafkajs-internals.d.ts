/**
 * Typings of the kafkajs 2.2.4 modules `shared/kafkajs-producer.ts` requires instead of kafkajs' root, with the
 * types kafkajs publishes for what its root builds from them.
 */
declare module 'kafkajs/src/cluster/index.js' {
  /** kafkajs' cluster: brokers, metadata and connections; what `Kafka` creates per client. */
  export default class Cluster {
    constructor(options: Record<string, unknown>);
  }
}

declare module 'kafkajs/src/loggers/index.js' {
  import type { logCreator, logLevel } from 'kafkajs';

  export const LEVELS: typeof logLevel;
  export function createLogger(options: { level: logLevel; logCreator: logCreator }): unknown;
}

declare module 'kafkajs/src/loggers/console.js' {
  import type { logCreator } from 'kafkajs';

  const LoggerConsole: logCreator;
  export default LoggerConsole;
}

declare module 'kafkajs/src/instrumentation/emitter.js' {
  export default class InstrumentationEventEmitter {}
}

declare module 'kafkajs/src/network/socketFactory.js' {
  import type { ISocketFactory } from 'kafkajs';

  export default function defaultSocketFactory(): ISocketFactory;
}

declare module 'kafkajs/src/producer/index.js' {
  import type { ICustomPartitioner, Producer, RetryOptions } from 'kafkajs';

  export default function createProducer(options: {
    retry: RetryOptions;
    logger: unknown;
    cluster: unknown;
    createPartitioner: ICustomPartitioner;
    idempotent?: boolean;
    transactionalId?: string;
    transactionTimeout?: number;
    instrumentationEmitter: unknown;
  }): Producer;
}

declare module 'kafkajs/src/producer/partitioners/index.js' {
  import type { Partitioners } from 'kafkajs';

  const partitioners: typeof Partitioners;
  export default partitioners;
}
