/**
 * The one contract of each function: how it is invoked, the tables it reads or writes, the events it produces,
 * the other AWS resources it uses, its timeout, and from those its environment. The CDK stack derives each
 * function's variables, grants and timeout from it; the local runner and `local/sam-env.json` derive their
 * variables from it; each handler derives its zod env schema from it (`envSchemaOf`).
 *
 * Every function bundles this module: it imports zod (through shared/zod.ts) and `shared/` only, never aws-cdk-lib or
 * `local/`.
 */
import { kafkaEnv, type pollerEnv } from './config.js';
import { TABLES } from './tables.js';
import { TEMPLATE_NAMES } from './template-names.js';
import { ORDER_API_TIMEOUT_SECONDS } from './timeouts.js';
import type { EventType, FunctionName } from './topology.js';
// The namespace import keeps zod tree-shakable (see shared/zod.ts).
import * as z from './zod.js';

/** A `TABLES` key. */
export type TableKey = keyof typeof TABLES;

/** What a function does with a table: the stack grants read, or read and write, on exactly that table. */
export type TableAccess = 'read' | 'read-write';

/** One table a function uses; the function finds it through the table's variable (`TableSpec.env`). */
export interface TableUse {
  readonly table: TableKey;
  readonly access: TableAccess;
}

/**
 * How a function is invoked: `kafka` by the event-source mappings of its `CONSUMERS` entry, `http` by the order
 * API, `rule` by the EventBridge rules of `RULES` that target it, `websocket` by the live-updates WebSocket API's
 * routes.
 */
export type Trigger = 'kafka' | 'http' | 'rule' | 'websocket';

/**
 * An AWS resource a function uses besides its tables and topics, and the one thing it does with it:
 * `bus:put-events` puts events on the orderflow bus (`EVENT_BUS_NAME`); `ses:send-templated` sends templated
 * mail from the sender with the order templates (`SENDER_EMAIL`, `CONFIRMATION_TEMPLATE`, `CANCELLATION_TEMPLATE`);
 * `live:post-to-connection` posts to the live-updates WebSocket connections through the API Gateway Management
 * API (`LIVE_CALLBACK_URL`, the stage's endpoint).
 */
export type ResourceUse = 'bus:put-events' | 'ses:send-templated' | 'live:post-to-connection';

/** What one function needs. */
export interface FunctionContract {
  /** How it is invoked; a `kafka` function also gets `POLLER_MODE`. */
  readonly trigger: Trigger;
  /** Tables it reads or writes, in the order their variables are set. */
  readonly tables: readonly TableUse[];
  /**
   * Event types it produces to Kafka; the stack lets it write their topics (`topicOf`). A function that produces
   * or consumes talks to Kafka: it runs in the VPC and gets the Kafka and registry variables.
   */
  readonly produces: readonly EventType[];
  /** Other resources it uses. */
  readonly uses: readonly ResourceUse[];
  /** Invocation timeout, in seconds; the local runner gives up at the same time. */
  readonly timeoutSeconds: number;
}

/** A Kafka batch (up to 500 records, one write or produce each) gets a minute. */
const KAFKA_BATCH_TIMEOUT_SECONDS = 60;

/** An EventBridge target handles one event; EventBridge retries it on failure. */
const RULE_TARGET_TIMEOUT_SECONDS = 30;

/**
 * Every function's contract, by `FunctionName`.
 *
 * @example
 * FUNCTIONS['order-status'].uses // ['bus:put-events']
 */
export const FUNCTIONS = {
  'order-api': {
    trigger: 'http',
    tables: [
      { table: 'ORDER_STATUS', access: 'read' },
      { table: 'IDEMPOTENCY', access: 'read-write' },
    ],
    produces: ['OrderPlaced'],
    uses: [],
    // Well inside the HTTP API's integration timeout (shared/timeouts.ts).
    timeoutSeconds: ORDER_API_TIMEOUT_SECONDS,
  },
  'validate-order': {
    trigger: 'kafka',
    tables: [{ table: 'CATALOG', access: 'read' }],
    produces: ['OrderValidated', 'OrderRejected'],
    uses: [],
    timeoutSeconds: KAFKA_BATCH_TIMEOUT_SECONDS,
  },
  'reserve-inventory': {
    trigger: 'kafka',
    tables: [{ table: 'INVENTORY', access: 'read-write' }],
    produces: ['InventoryReserved', 'InventoryRejected', 'InventoryReleased'],
    uses: [],
    timeoutSeconds: KAFKA_BATCH_TIMEOUT_SECONDS,
  },
  'process-payment': {
    trigger: 'kafka',
    tables: [{ table: 'PAYMENTS', access: 'read-write' }],
    produces: ['PaymentProcessed', 'PaymentFailed', 'PaymentRefunded'],
    uses: [],
    timeoutSeconds: KAFKA_BATCH_TIMEOUT_SECONDS,
  },
  'order-status': {
    trigger: 'kafka',
    tables: [{ table: 'ORDER_STATUS', access: 'read-write' }],
    produces: [],
    uses: ['bus:put-events'],
    timeoutSeconds: KAFKA_BATCH_TIMEOUT_SECONDS,
  },
  'order-analytics': {
    trigger: 'kafka',
    tables: [{ table: 'ANALYTICS', access: 'read-write' }],
    produces: [],
    uses: [],
    timeoutSeconds: KAFKA_BATCH_TIMEOUT_SECONDS,
  },
  'send-order-email': {
    trigger: 'rule',
    tables: [{ table: 'IDEMPOTENCY', access: 'read-write' }],
    produces: [],
    uses: ['ses:send-templated'],
    timeoutSeconds: RULE_TARGET_TIMEOUT_SECONDS,
  },
  'live-connections': {
    trigger: 'websocket',
    tables: [
      { table: 'LIVE_CONNECTIONS', access: 'read-write' },
      { table: 'ORDER_STATUS', access: 'read' },
    ],
    produces: [],
    uses: ['live:post-to-connection'],
    // A route answers a client message; a $disconnect makes up to 50 updates. API Gateway waits at most 29 s.
    timeoutSeconds: 10,
  },
  'live-notifier': {
    trigger: 'rule',
    tables: [{ table: 'LIVE_CONNECTIONS', access: 'read-write' }],
    produces: [],
    uses: ['live:post-to-connection'],
    timeoutSeconds: RULE_TARGET_TIMEOUT_SECONDS,
  },
} as const satisfies Record<FunctionName, FunctionContract>;

/** The contract of `fn`, widened to `FunctionContract`. */
export function contractOf(fn: FunctionName): FunctionContract {
  return FUNCTIONS[fn];
}

/** Whether a function talks to Kafka (consumes or produces), and so runs in the VPC with the Kafka variables. */
export function usesKafka(fn: FunctionName): boolean {
  const contract = contractOf(fn);
  return contract.trigger === 'kafka' || contract.produces.length > 0;
}

/** Variables every function reads, Kafka or not (Lambda sets `AWS_REGION`). */
const baseEnv = z.object({ AWS_REGION: z._default(z.string().check(z.minLength(1)), 'us-east-1') });

/** The variables each resource use brings, and how they are validated. */
const USE_ENV = {
  'bus:put-events': { EVENT_BUS_NAME: z.string().check(z.minLength(1)) },
  'ses:send-templated': {
    // A verified SES identity; may carry a display name (`Orderflow <orders@example.com>`), so not z.email().
    SENDER_EMAIL: z.string().check(z.minLength(1)),
    CONFIRMATION_TEMPLATE: z._default(z.string().check(z.minLength(1)), TEMPLATE_NAMES.CONFIRMED),
    CANCELLATION_TEMPLATE: z._default(z.string().check(z.minLength(1)), TEMPLATE_NAMES.CANCELLED),
  },
  // The stage's Management API endpoint: https://<api-id>.execute-api.<region>.amazonaws.com/<stage> on AWS,
  // http://127.0.0.1:3000/_live locally.
  'live:post-to-connection': { LIVE_CALLBACK_URL: z.url() },
} satisfies Record<ResourceUse, z.core.$ZodShape>;

type Contract<F extends FunctionName> = (typeof FUNCTIONS)[F];
type Flatten<T> = { [K in keyof T]: T[K] };
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
type BaseShape<C extends FunctionContract> = C['trigger'] extends 'kafka'
  ? (typeof kafkaEnv)['shape']
  : C['produces'] extends readonly []
    ? (typeof baseEnv)['shape']
    : (typeof kafkaEnv)['shape'];
type TableShape<C extends FunctionContract> = {
  [K in C['tables'][number]['table'] as (typeof TABLES)[K]['env']]: z.ZodMiniString<string>;
};
type UseShape<C extends FunctionContract> = [C['uses'][number]] extends [never]
  ? Record<never, never>
  : UnionToIntersection<(typeof USE_ENV)[C['uses'][number]]>;

/** The zod shape of a function's environment, derived from its contract. */
export type EnvShape<F extends FunctionName> = Flatten<
  BaseShape<Contract<F>> & TableShape<Contract<F>> & UseShape<Contract<F>>
>;

/** The zod schema of a function's environment. */
export type EnvSchema<F extends FunctionName> =
  EnvShape<F> extends infer S extends z.core.$ZodShape ? z.ZodMiniObject<S> : never;

/**
 * The env schema of `fn`: the Kafka variables (`kafkaEnv`) when it talks to Kafka, else `AWS_REGION` only; the
 * variable of each of its tables; the variables of each resource it uses. Handlers parse it with `loadConfig`.
 *
 * @example
 * export const orderStatusEnv = envSchemaOf('order-status');
 * const config = loadConfig(orderStatusEnv); // config.ORDER_STATUS_TABLE, config.EVENT_BUS_NAME, config.KAFKA_BROKERS, ...
 */
export function envSchemaOf<F extends FunctionName>(fn: F): EnvSchema<F> {
  const contract = contractOf(fn);
  const base: z.ZodMiniObject = usesKafka(fn) ? kafkaEnv : baseEnv;
  const shape: Record<string, z.ZodMiniType> = {};
  for (const { table } of contract.tables) shape[TABLES[table].env] = z.string().check(z.minLength(1));
  for (const use of contract.uses) Object.assign(shape, USE_ENV[use]);
  return z.extend(base, shape) as unknown as EnvSchema<F>;
}

/** How the Kafka event-source mappings poll (`POLLER_MODE`). */
export type PollerModeValue = z.infer<typeof pollerEnv>['POLLER_MODE'];

/**
 * Where the resources of the contracts are: deploy-time references in the CDK stack, local names on the local
 * stack. `functionEnvironment` turns them into each function's variables.
 */
export interface ResourceValues {
  /** How Kafka-connected functions reach the brokers and the schema registry. */
  readonly kafka: {
    /** `KAFKA_BROKERS`: comma-separated bootstrap servers. */
    readonly brokers: string;
    /** `KAFKA_AUTH`. */
    readonly auth: 'iam' | 'none';
    /** `SCHEMA_REGISTRY`: the registry new records are written with. */
    readonly schemaRegistry: 'glue' | 'confluent';
    /**
     * `GLUE_REGISTRY_NAME`: the AWS Glue registry holding the `<topic>-value` schemas.
     *
     * @default - not set: Glue-framed records cannot be read (required when `schemaRegistry` is `glue`)
     */
    readonly glueRegistryName?: string;
    /**
     * `SCHEMA_REGISTRY_URL`: the Confluent-compatible registry.
     *
     * @default - not set: Confluent-framed records cannot be read (required when `schemaRegistry` is `confluent`)
     */
    readonly schemaRegistryUrl?: string;
    /**
     * `SCHEMA_REGISTRY_SECRET_ARN`: the secret holding the registry's basic-auth credentials.
     *
     * @default - not set: the registry takes no credentials
     */
    readonly schemaRegistrySecretArn?: string;
  };
  /** `POLLER_MODE` of Kafka-fed functions. */
  readonly pollerMode: PollerModeValue;
  /** Name of a table (its variable's value). */
  readonly tableName: (table: TableKey) => string;
  /** `EVENT_BUS_NAME`. */
  readonly eventBusName: string;
  /** The order emails' sender and SES templates. */
  readonly email: {
    /** `SENDER_EMAIL`. */
    readonly sender: string;
    /** `CONFIRMATION_TEMPLATE`. */
    readonly confirmationTemplate: string;
    /** `CANCELLATION_TEMPLATE`. */
    readonly cancellationTemplate: string;
  };
  /** `LIVE_CALLBACK_URL`: the live-updates WebSocket stage's Management API endpoint. */
  readonly liveCallbackUrl: string;
}

/** The variables of each resource use; keys as in `USE_ENV`. */
const USE_VALUES: Record<ResourceUse, (values: ResourceValues) => Record<string, string>> = {
  'bus:put-events': (values) => ({ EVENT_BUS_NAME: values.eventBusName }),
  'ses:send-templated': ({ email }) => ({
    SENDER_EMAIL: email.sender,
    CONFIRMATION_TEMPLATE: email.confirmationTemplate,
    CANCELLATION_TEMPLATE: email.cancellationTemplate,
  }),
  'live:post-to-connection': (values) => ({ LIVE_CALLBACK_URL: values.liveCallbackUrl }),
};

/**
 * The variables `fn` is given, from its contract and where its resources are: the Kafka and registry variables
 * when it talks to Kafka, each table's name, `POLLER_MODE` when Kafka feeds it, then the variables of the
 * resources it uses. Variables with a default in the schema (`AWS_REGION`) are left to it.
 *
 * @example
 * functionEnvironment('order-analytics', values) // { KAFKA_BROKERS, KAFKA_AUTH, SCHEMA_REGISTRY, GLUE_REGISTRY_NAME, ANALYTICS_TABLE, POLLER_MODE }
 */
export function functionEnvironment(fn: FunctionName, values: ResourceValues): Record<string, string> {
  const contract = contractOf(fn);
  const { kafka } = values;
  const environment: Record<string, string> = {};
  if (usesKafka(fn)) {
    environment.KAFKA_BROKERS = kafka.brokers;
    environment.KAFKA_AUTH = kafka.auth;
    environment.SCHEMA_REGISTRY = kafka.schemaRegistry;
    if (kafka.glueRegistryName) environment.GLUE_REGISTRY_NAME = kafka.glueRegistryName;
    if (kafka.schemaRegistryUrl) environment.SCHEMA_REGISTRY_URL = kafka.schemaRegistryUrl;
    if (kafka.schemaRegistrySecretArn) environment.SCHEMA_REGISTRY_SECRET_ARN = kafka.schemaRegistrySecretArn;
  }
  for (const { table } of contract.tables) environment[TABLES[table].env] = values.tableName(table);
  // The handlers throw on a transient failure in on-demand mode, which has no partial batch responses.
  if (contract.trigger === 'kafka') environment.POLLER_MODE = values.pollerMode;
  for (const use of contract.uses) Object.assign(environment, USE_VALUES[use](values));
  return environment;
}
