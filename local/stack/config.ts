/**
 * The one configuration every local tool shares (stack CLI, provisioning, event-source runner, integration
 * tests): where Kafka, the schema registry and the AWS emulator answer. Each value comes from the environment
 * when set, else from the backend `stack:up` started (recorded in `local/.devstack/state.json`), else the
 * no-Docker default.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (two levels above this file). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Git-ignored folder holding the stack's downloads, data, logs and pids. */
export const DEVSTACK_DIR = path.join(REPO_ROOT, 'local', '.devstack');

/** File where `stack:up` records which backend runs and where its services answer. */
export const STATE_FILE = path.join(DEVSTACK_DIR, 'state.json');

/** The backends `stack:up` can start. */
export type BackendName = 'docker' | 'native';

/** What `stack:up` recorded about the running stack. */
export interface StackState {
  readonly backend: BackendName;
  /** Confluent-compatible registry base URL of that backend. */
  readonly schemaRegistryUrl: string;
  /** ISO time the stack was started. */
  readonly startedAt: string;
}

/**
 * Where the AWS emulators answer by default, in both backends: Dynoxide serves DynamoDB, MiniStack serves SQS,
 * EventBridge and SES. The SDK picks the service-specific variable (`AWS_ENDPOINT_URL_DYNAMODB`) over the
 * general one, so no client is ever given an explicit endpoint.
 */
export const EMULATOR_URLS = {
  dynamodb: 'http://127.0.0.1:8000',
  default: 'http://127.0.0.1:4566',
  /** The Glue Schema Registry emulator (`local/glue-registry/`). */
  glue: 'http://127.0.0.1:4567',
} as const;

/** Which registry the local functions encode new records with (`ORDERFLOW_SCHEMA_REGISTRY`). */
export type LocalRegistryMode = 'confluent' | 'glue';

/** The Glue registry holding the `<topic>-value` schemas on the local stack. */
export const LOCAL_GLUE_REGISTRY_NAME = 'orderflow';

/** Registry URL of each backend: Redpanda serves Confluent's API at the root, Apicurio under `/apis/ccompat/v7`. */
export const REGISTRY_URLS: Record<BackendName, string> = {
  docker: 'http://127.0.0.1:8081',
  native: 'http://127.0.0.1:8081/apis/ccompat/v7',
};

/** Where the local tools find the stack. */
export interface StackConfig {
  /** `KAFKA_BROKERS`, split on commas. */
  readonly kafkaBrokers: readonly string[];
  /** `SCHEMA_REGISTRY_URL`. */
  readonly schemaRegistryUrl: string;
  /** `AWS_ENDPOINT_URL`: the emulator of SQS, EventBridge and SES (MiniStack); every AWS SDK v3 client honours it. */
  readonly awsEndpointUrl: string;
  /** `AWS_ENDPOINT_URL_DYNAMODB`: the DynamoDB emulator (Dynoxide); the SDK prefers it over `AWS_ENDPOINT_URL`. */
  readonly dynamodbEndpointUrl: string;
  /** `AWS_ENDPOINT_URL_GLUE`: the Glue Schema Registry emulator; the SDK prefers it over `AWS_ENDPOINT_URL`. */
  readonly glueEndpointUrl: string;
  /** `AWS_REGION`. */
  readonly awsRegion: string;
  /**
   * `ORDERFLOW_SCHEMA_REGISTRY`: the registry the local functions encode new records with; both are provisioned
   * and both framings stay readable.
   */
  readonly schemaRegistryMode: LocalRegistryMode;
  /** Which variable or default each value came from, for `stack:status`. */
  readonly sources: Readonly<
    Record<
      | 'KAFKA_BROKERS'
      | 'SCHEMA_REGISTRY_URL'
      | 'AWS_ENDPOINT_URL'
      | 'AWS_ENDPOINT_URL_DYNAMODB'
      | 'AWS_ENDPOINT_URL_GLUE'
      | 'AWS_REGION'
      | 'ORDERFLOW_SCHEMA_REGISTRY',
      string
    >
  >;
}

/** The state `stack:up` recorded, or undefined when no stack was started (or the file is unreadable). */
export function readStackState(): StackState | undefined {
  if (!existsSync(STATE_FILE)) return undefined;
  try {
    return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as StackState;
  } catch {
    return undefined;
  }
}

/**
 * Resolves the local configuration from `env`, the running backend and the defaults.
 *
 * @example
 * const { kafkaBrokers, schemaRegistryUrl } = stackConfig();
 */
export function stackConfig(env: NodeJS.ProcessEnv = process.env, state = readStackState()): StackConfig {
  const pick = (name: keyof StackConfig['sources'], fallback: string, fallbackSource: string) => {
    const value = env[name]?.trim();
    return value ? { value, source: 'environment' } : { value: fallback, source: fallbackSource };
  };
  const brokers = pick('KAFKA_BROKERS', '127.0.0.1:9092', 'default');
  const registry = state
    ? pick('SCHEMA_REGISTRY_URL', state.schemaRegistryUrl, `running ${state.backend} stack`)
    : pick('SCHEMA_REGISTRY_URL', REGISTRY_URLS.native, 'default (no-Docker backend)');
  const endpoint = pick('AWS_ENDPOINT_URL', EMULATOR_URLS.default, 'default');
  const dynamodb = pick('AWS_ENDPOINT_URL_DYNAMODB', EMULATOR_URLS.dynamodb, 'default');
  const glue = pick('AWS_ENDPOINT_URL_GLUE', EMULATOR_URLS.glue, 'default');
  const region = pick('AWS_REGION', 'us-east-1', 'default');
  const mode = pick('ORDERFLOW_SCHEMA_REGISTRY', 'confluent', 'default');
  if (mode.value !== 'confluent' && mode.value !== 'glue') {
    throw new Error(`ORDERFLOW_SCHEMA_REGISTRY must be confluent or glue, got '${mode.value}'`);
  }
  return {
    kafkaBrokers: brokers.value
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean),
    schemaRegistryUrl: registry.value.replace(/\/+$/, ''),
    awsEndpointUrl: endpoint.value.replace(/\/+$/, ''),
    dynamodbEndpointUrl: dynamodb.value.replace(/\/+$/, ''),
    glueEndpointUrl: glue.value.replace(/\/+$/, ''),
    awsRegion: region.value,
    schemaRegistryMode: mode.value,
    sources: {
      KAFKA_BROKERS: brokers.source,
      SCHEMA_REGISTRY_URL: registry.source,
      AWS_ENDPOINT_URL: endpoint.source,
      AWS_ENDPOINT_URL_DYNAMODB: dynamodb.source,
      AWS_ENDPOINT_URL_GLUE: glue.source,
      AWS_REGION: region.source,
      ORDERFLOW_SCHEMA_REGISTRY: mode.source,
    },
  };
}

/**
 * The environment a local tool (or a function run locally) needs: the stack's addresses as the variables the
 * functions read (`kafkaEnv` with both registries, so either framing decodes; `AWS_ENDPOINT_URL`,
 * `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_GLUE`), plus dummy credentials for the emulator when none are set,
 * because the AWS SDK refuses to sign without them.
 *
 * @example
 * Object.assign(process.env, stackEnv());
 */
export function stackEnv(
  config: StackConfig = stackConfig(),
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  return {
    KAFKA_BROKERS: config.kafkaBrokers.join(','),
    KAFKA_AUTH: 'none',
    SCHEMA_REGISTRY: config.schemaRegistryMode,
    SCHEMA_REGISTRY_URL: config.schemaRegistryUrl,
    GLUE_REGISTRY_NAME: LOCAL_GLUE_REGISTRY_NAME,
    AWS_ENDPOINT_URL: config.awsEndpointUrl,
    AWS_ENDPOINT_URL_DYNAMODB: config.dynamodbEndpointUrl,
    AWS_ENDPOINT_URL_GLUE: config.glueEndpointUrl,
    AWS_REGION: config.awsRegion,
    AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID || 'testing',
    AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY || 'testing',
    // The SDK warns once per process (and per sandbox) that its 2027 releases need Node 22; the README says so.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED || 'true',
  };
}

/** Sets the stack's variables (and dummy emulator credentials) in this process where they are unset. */
export function applyStackEnv(config: StackConfig = stackConfig()): StackConfig {
  for (const [name, value] of Object.entries(stackEnv(config))) {
    if (!process.env[name]) process.env[name] = value;
  }
  return config;
}
