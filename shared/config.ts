/**
 * Configuration read once at cold start, validated with zod, failing with the names of the missing or
 * malformed variables.
 */
import { ConfigError } from './errors.js';
// zod/mini from shared/zod.ts, which configures its English messages, imported as a namespace: esbuild then keeps
// only the `z.*` a bundle calls (25 KiB of zod in a Kafka function), where a `z` binding would keep all of zod/mini
// and its 40 locales, 422 KiB (shared/zod.ts has the measurements).
import * as z from './zod.js';

/**
 * Parses `env` with `schema`, or throws `ConfigError` naming every bad variable.
 *
 * @example
 * const config = loadConfig(z.object({ ORDER_STATUS_TABLE: z.string().check(z.minLength(1)) }));
 */
export function loadConfig<S extends z.ZodMiniType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(environment)';
    if (env[name] !== undefined) return `${name}: ${issue.message}`;
    // A refinement's issue says when the variable is required; a field's says it is required at all.
    return issue.code === 'custom' ? `${name} ${issue.message}` : `${name} is required but not set`;
  });
  throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
}

/**
 * How the function's event-source mapping polls: `provisioned` honours partial batch responses, `on-demand`
 * ignores them and retries a batch only when the invocation fails
 * (https://docs.aws.amazon.com/lambda/latest/dg/kafka-retry-configurations.html).
 */
export const pollerEnv = z.object({
  /** Set by the CDK stack from its `pollerMode` parameter. */
  POLLER_MODE: z._default(z.enum(['provisioned', 'on-demand']), 'provisioned'),
});

/** Variables every Kafka-connected function needs. */
export const kafkaEnv = z
  .object({
    /** Comma-separated bootstrap servers. */
    KAFKA_BROKERS: z.string().check(z.minLength(1)),
    /** `iam` for MSK with IAM auth (SASL OAUTHBEARER over TLS), `none` for the local plaintext broker. */
    KAFKA_AUTH: z._default(z.enum(['iam', 'none']), 'none'),
    /**
     * Which registry new records are written with: `glue` (AWS Glue Schema Registry, the deploy's default) or
     * `confluent` (a Confluent-compatible registry at `SCHEMA_REGISTRY_URL`, the local stack's default).
     */
    SCHEMA_REGISTRY: z._default(z.enum(['glue', 'confluent']), 'confluent'),
    /**
     * The Glue registry whose schemas (`<topic>-value`) encode and decode Glue-framed records; required when
     * `SCHEMA_REGISTRY` is `glue`. Set in Confluent mode too, Glue-framed records stay readable (a migration).
     */
    GLUE_REGISTRY_NAME: z.optional(z.string().check(z.minLength(1))),
    /**
     * Confluent-compatible registry base URL, required when `SCHEMA_REGISTRY` is `confluent`; `https://` whenever
     * credentials are configured. Set in Glue mode too, Confluent-framed records stay readable (a migration).
     */
    SCHEMA_REGISTRY_URL: z.optional(z.url()),
    /**
     * ARN of a Secrets Manager secret holding `{"username","password"}` for the registry's basic auth, read once
     * per cold start (what the CDK stack sets).
     */
    SCHEMA_REGISTRY_SECRET_ARN: z.optional(z.string().check(z.startsWith('arn:'))),
    /** Basic-auth user and password given directly: local development only, never set by the CDK stack. */
    SCHEMA_REGISTRY_USERNAME: z.optional(z.string()),
    SCHEMA_REGISTRY_PASSWORD: z.optional(z.string()),
    AWS_REGION: z._default(z.string().check(z.minLength(1)), 'us-east-1'),
    ...pollerEnv.shape,
  })
  .check(
    z.superRefine((env, ctx) => {
      const credentials = env.SCHEMA_REGISTRY_SECRET_ARN
        ? 'SCHEMA_REGISTRY_SECRET_ARN'
        : env.SCHEMA_REGISTRY_USERNAME || env.SCHEMA_REGISTRY_PASSWORD
          ? 'SCHEMA_REGISTRY_USERNAME/PASSWORD'
          : undefined;
      if (env.SCHEMA_REGISTRY === 'glue' && !env.GLUE_REGISTRY_NAME) {
        ctx.addIssue({
          code: 'custom',
          path: ['GLUE_REGISTRY_NAME'],
          message: "is required when SCHEMA_REGISTRY is 'glue', but not set",
        });
      }
      if (env.SCHEMA_REGISTRY === 'confluent' && !env.SCHEMA_REGISTRY_URL) {
        ctx.addIssue({
          code: 'custom',
          path: ['SCHEMA_REGISTRY_URL'],
          message: "is required when SCHEMA_REGISTRY is 'confluent' (the default), but not set",
        });
      }
      // Basic auth sends the password in every request: never over plaintext.
      if (credentials && !env.SCHEMA_REGISTRY_URL?.toLowerCase().startsWith('https://')) {
        ctx.addIssue({
          code: 'custom',
          path: ['SCHEMA_REGISTRY_URL'],
          message: `must be an https:// URL when registry credentials are set (${credentials}), got '${env.SCHEMA_REGISTRY_URL ?? ''}'`,
        });
      }
    }),
  );

/** Parsed Kafka variables. */
export type KafkaEnv = z.infer<typeof kafkaEnv>;
