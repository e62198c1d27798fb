/**
 * Deploy-time parameters of the orderflow stack, read from CDK context (`-c senderEmail=...`) or the environment
 * (`ORDERFLOW_SENDER_EMAIL=...`) and validated at synth, so a bad value fails before anything is deployed.
 */

/** How the Kafka event-source mappings poll. */
export type PollerMode = 'provisioned' | 'on-demand';

/** Which schema registry new records are written with. */
export type SchemaRegistryMode = 'glue' | 'confluent';

/** Validated stack parameters. */
export interface OrderflowParameters {
  /** Verified SES sender of the order emails (`orders@example.com` or `Orderflow <orders@example.com>`). */
  readonly senderEmail: string;
  /**
   * The registry new records are written with: `glue` (the stack's AWS Glue Schema Registry) or `confluent` (the
   * registry at `schemaRegistryUrl`). Records of the other format stay readable while both are configured, which
   * is how a running deployment moves from one to the other (docs/deploying.md, "Schema registry modes").
   *
   * @default - `confluent` when `schemaRegistryUrl` is set, else `glue`
   */
  readonly schemaRegistry: SchemaRegistryMode;
  /**
   * Confluent-compatible schema registry base URL, reachable from the VPC; required when `schemaRegistry` is
   * `confluent`, optional with `glue` (the consumers then also read Confluent-framed records: a migration).
   *
   * @default - no Confluent-compatible registry: Glue only
   */
  readonly schemaRegistryUrl?: string;
  /**
   * Secrets Manager secret holding `{"username": ..., "password": ...}` for the registry at `schemaRegistryUrl`.
   *
   * @default - the registry is called without credentials
   */
  readonly schemaRegistrySecretArn?: string;
  /**
   * `provisioned` pollers give the Kafka mappings retries, bisect, partial batch responses and the Kafka
   * dead-letter topic; `on-demand` costs nothing idle but sends discarded batches to an SQS queue instead.
   */
  readonly pollerMode: PollerMode;
  /** Address subscribed to the alarm topic. */
  readonly alarmEmail: string;
  /**
   * HTTPS endpoint that receives every order transition through an EventBridge API destination.
   *
   * @default - no webhook
   */
  readonly webhookUrl?: string;
  /**
   * Short name of this deployment (`dev`, `pr-42`): suffixes every fixed physical name (stack, cluster, bus, rules,
   * dashboard, email templates, audit log group), so two stacks fit one account and region.
   *
   * @default - no suffix: today's names (`Orderflow`, `orderflow`, ...)
   */
  readonly stage?: string;
}

/** One parameter: its context key and environment variable. */
interface ParameterSource {
  readonly context: string;
  readonly env: string;
}

/** Where each parameter is read from; context wins over the environment. */
export const PARAMETER_SOURCES = {
  senderEmail: { context: 'senderEmail', env: 'ORDERFLOW_SENDER_EMAIL' },
  schemaRegistry: { context: 'schemaRegistry', env: 'ORDERFLOW_SCHEMA_REGISTRY' },
  schemaRegistryUrl: { context: 'schemaRegistryUrl', env: 'ORDERFLOW_SCHEMA_REGISTRY_URL' },
  schemaRegistrySecretArn: { context: 'schemaRegistrySecretArn', env: 'ORDERFLOW_SCHEMA_REGISTRY_SECRET_ARN' },
  pollerMode: { context: 'pollerMode', env: 'ORDERFLOW_POLLER_MODE' },
  alarmEmail: { context: 'alarmEmail', env: 'ORDERFLOW_ALARM_EMAIL' },
  webhookUrl: { context: 'webhookUrl', env: 'ORDERFLOW_WEBHOOK_URL' },
  stage: { context: 'stage', env: 'ORDERFLOW_STAGE' },
} as const satisfies Record<keyof OrderflowParameters, ParameterSource>;

/** Thrown when a parameter is missing or malformed; the message lists every problem. */
export class ParameterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParameterError';
  }
}

const EMAIL = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;
const NAMED_EMAIL = /^[^<>]*<([^\s@<>]+@[^\s@<>]+\.[^\s@<>]+)>$/;
/** Lowercase letters, digits and inner hyphens, at most 12 characters: it must fit every name it suffixes. */
const STAGE = /^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

/**
 * A physical name for `stage`: `base` itself without a stage (so the default deployment keeps its names), else
 * `base-stage`.
 *
 * @example
 * stageName('orderflow', 'dev'); // 'orderflow-dev'
 */
export function stageName(base: string, stage: string | undefined): string {
  return stage ? `${base}-${stage}` : base;
}

/** The bare address of `orders@example.com` or `Orderflow <orders@example.com>`, or undefined when malformed. */
export function emailAddressOf(value: string): string | undefined {
  if (EMAIL.test(value)) return value;
  return NAMED_EMAIL.exec(value)?.[1];
}

function isUrl(value: string, protocols: readonly string[]): boolean {
  try {
    return protocols.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/**
 * Reads and validates the parameters; throws `ParameterError` naming each bad one with the value received.
 *
 * @example
 * const params = loadParameters((key) => app.node.tryGetContext(key), process.env);
 */
export function loadParameters(
  context: (key: string) => unknown,
  env: NodeJS.ProcessEnv = process.env,
): OrderflowParameters {
  const problems: string[] = [];
  const read = (source: ParameterSource): string | undefined => {
    const raw = context(source.context) ?? env[source.env];
    if (raw === undefined || raw === null) return undefined;
    const text = String(raw).trim();
    return text === '' ? undefined : text;
  };
  const required = (source: ParameterSource): string => {
    const value = read(source);
    if (value === undefined)
      problems.push(`${source.context} is required: pass -c ${source.context}=... or set ${source.env}`);
    return value ?? '';
  };
  const show = (value: string) => JSON.stringify(value);

  const senderEmail = required(PARAMETER_SOURCES.senderEmail);
  if (senderEmail && !emailAddressOf(senderEmail)) {
    problems.push(`senderEmail must be an email address (optionally "Name <address>"), got ${show(senderEmail)}`);
  }
  const schemaRegistryUrl = read(PARAMETER_SOURCES.schemaRegistryUrl);
  if (schemaRegistryUrl && !isUrl(schemaRegistryUrl, ['http:', 'https:'])) {
    problems.push(`schemaRegistryUrl must be an http(s) url, got ${show(schemaRegistryUrl)}`);
  }
  const schemaRegistry = read(PARAMETER_SOURCES.schemaRegistry) ?? (schemaRegistryUrl ? 'confluent' : 'glue');
  if (schemaRegistry !== 'glue' && schemaRegistry !== 'confluent') {
    problems.push(`schemaRegistry must be "glue" or "confluent", got ${show(schemaRegistry)}`);
  } else if (schemaRegistry === 'confluent' && !schemaRegistryUrl) {
    problems.push(
      `schemaRegistry "confluent" needs schemaRegistryUrl: pass -c schemaRegistryUrl=... or set ${PARAMETER_SOURCES.schemaRegistryUrl.env}`,
    );
  }
  const schemaRegistrySecretArn = read(PARAMETER_SOURCES.schemaRegistrySecretArn);
  if (schemaRegistrySecretArn && !SECRET_ARN.test(schemaRegistrySecretArn)) {
    problems.push(`schemaRegistrySecretArn must be a secrets manager secret arn, got ${show(schemaRegistrySecretArn)}`);
  } else if (schemaRegistrySecretArn && !schemaRegistryUrl) {
    problems.push(
      `schemaRegistrySecretArn is for the registry at schemaRegistryUrl, which is not set (got schemaRegistrySecretArn ${show(schemaRegistrySecretArn)}); the glue registry takes iam, not a secret`,
    );
  }
  const pollerMode = read(PARAMETER_SOURCES.pollerMode) ?? 'provisioned';
  if (pollerMode !== 'provisioned' && pollerMode !== 'on-demand') {
    problems.push(`pollerMode must be "provisioned" or "on-demand", got ${show(pollerMode)}`);
  }
  const alarmEmail = required(PARAMETER_SOURCES.alarmEmail);
  if (alarmEmail && !EMAIL.test(alarmEmail)) {
    problems.push(`alarmEmail must be an email address, got ${show(alarmEmail)}`);
  }
  const webhookUrl = read(PARAMETER_SOURCES.webhookUrl);
  if (webhookUrl && !isUrl(webhookUrl, ['https:'])) {
    problems.push(
      `webhookUrl must be an https url (eventbridge api destinations require https), got ${show(webhookUrl)}`,
    );
  }

  const stage = read(PARAMETER_SOURCES.stage);
  if (stage !== undefined && !STAGE.test(stage)) {
    problems.push(
      `stage must be 1-12 lowercase letters, digits or inner hyphens (it suffixes physical names), got ${show(stage)}`,
    );
  }

  if (problems.length > 0) throw new ParameterError(`invalid orderflow parameters: ${problems.join('; ')}`);
  return {
    senderEmail,
    schemaRegistry: schemaRegistry as SchemaRegistryMode,
    schemaRegistryUrl,
    schemaRegistrySecretArn,
    pollerMode: pollerMode as PollerMode,
    alarmEmail,
    webhookUrl,
    stage,
  };
}
