/**
 * The local stack's side of the function contracts (`shared/functions.ts`): where each contract resource is
 * locally (the `orderflow-<id>` tables, the `orderflow` bus, the sender verified in the emulator, the default SES
 * template names, the plaintext broker and registry). `npm run dev` (`local/dev/pipeline.ts`) and
 * `local/sam-env.json` (`local/tools/sam-env.ts`) derive each function's variables from here.
 */
import { DEFAULT_SENDER_EMAIL, TEMPLATE_NAMES } from '../../shared/email-templates.js';
import { functionEnvironment, type PollerModeValue, type ResourceValues } from '../../shared/functions.js';
import { localTableName, TABLES } from '../../shared/tables.js';
import { EVENT_BUS_NAME, type FunctionName } from '../../shared/topology.js';
import { LOCAL_GLUE_REGISTRY_NAME, type LocalRegistryMode } from './config.js';

/** The Management API of `npm run dev`'s WebSocket endpoint on its default port (local/dev/live.ts). */
export const LOCAL_LIVE_CALLBACK_URL = 'http://127.0.0.1:3000/_live';

/** How the local stack is reached, and what a developer set already. */
export interface LocalResourceOptions {
  /** `KAFKA_BROKERS`: comma-separated bootstrap servers of the local broker (plaintext, no auth). */
  readonly kafkaBrokers: string;
  /** `SCHEMA_REGISTRY_URL` of the local registry (no credentials). */
  readonly schemaRegistryUrl: string;
  /**
   * `SCHEMA_REGISTRY`: the registry new records are encoded with (`ORDERFLOW_SCHEMA_REGISTRY`). Both registries
   * are set either way (`GLUE_REGISTRY_NAME` and `SCHEMA_REGISTRY_URL`), so records of both framings stay readable.
   *
   * @default 'confluent'
   */
  readonly schemaRegistry?: LocalRegistryMode;
  /** `POLLER_MODE` the local event sources emulate. */
  readonly pollerMode: PollerModeValue;
  /**
   * `LIVE_CALLBACK_URL`: where `npm run dev` serves the Management API of its WebSocket endpoint.
   *
   * @default LOCAL_LIVE_CALLBACK_URL
   */
  readonly liveCallbackUrl?: string;
  /**
   * Variables set already, which win over the local names (a developer's `SENDER_EMAIL=...`).
   *
   * @default - none: every resource gets its local name
   */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Where the contracts' resources are on the local stack.
 *
 * @example
 * localResourceValues({ kafkaBrokers: '127.0.0.1:9092', schemaRegistryUrl: 'http://127.0.0.1:8081', pollerMode: 'provisioned' })
 *   .tableName('CATALOG') // 'orderflow-catalog'
 */
export function localResourceValues(options: LocalResourceOptions): ResourceValues {
  const env = options.env ?? {};
  return {
    kafka: {
      brokers: options.kafkaBrokers,
      auth: 'none',
      schemaRegistry: options.schemaRegistry ?? 'confluent',
      glueRegistryName: LOCAL_GLUE_REGISTRY_NAME,
      schemaRegistryUrl: options.schemaRegistryUrl,
    },
    pollerMode: options.pollerMode,
    tableName: (table) => env[TABLES[table].env] ?? localTableName(TABLES[table]),
    eventBusName: env.EVENT_BUS_NAME ?? EVENT_BUS_NAME,
    email: {
      sender: env.SENDER_EMAIL ?? DEFAULT_SENDER_EMAIL,
      confirmationTemplate: env.CONFIRMATION_TEMPLATE ?? TEMPLATE_NAMES.CONFIRMED,
      cancellationTemplate: env.CANCELLATION_TEMPLATE ?? TEMPLATE_NAMES.CANCELLED,
    },
    liveCallbackUrl: env.LIVE_CALLBACK_URL ?? options.liveCallbackUrl ?? LOCAL_LIVE_CALLBACK_URL,
  };
}

/**
 * The variables `fn`'s contract gives it on the local stack.
 *
 * @example
 * localFunctionEnv('send-order-email', options) // { IDEMPOTENCY_TABLE: 'orderflow-idempotency', SENDER_EMAIL: ..., ... }
 */
export function localFunctionEnv(fn: FunctionName, options: LocalResourceOptions): Record<string, string> {
  return functionEnvironment(fn, localResourceValues(options));
}
