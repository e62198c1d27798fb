/**
 * Configuration read once at cold start, validated with zod, failing with the names of the missing or
 * malformed variables.
 */
import { z } from 'zod';
import { ConfigError } from './errors.js';

/**
 * Parses `env` with `schema`, or throws `ConfigError` naming every bad variable.
 *
 * @example
 * const config = loadConfig(z.object({ ORDER_STATUS_TABLE: z.string().min(1) }));
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(environment)';
    return env[name] === undefined ? `${name} is required but not set` : `${name}: ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
}

/** Variables every Kafka-connected function needs. */
export const kafkaEnv = z.object({
  /** Comma-separated bootstrap servers. */
  KAFKA_BROKERS: z.string().min(1),
  /** `iam` for MSK with IAM auth (SASL OAUTHBEARER over TLS), `none` for the local plaintext broker. */
  KAFKA_AUTH: z.enum(['iam', 'none']).default('none'),
  /** Confluent-compatible registry base URL. */
  SCHEMA_REGISTRY_URL: z.string().url(),
  /** Optional basic-auth user and password for the registry (from Secrets Manager at deploy time). */
  SCHEMA_REGISTRY_USERNAME: z.string().optional(),
  SCHEMA_REGISTRY_PASSWORD: z.string().optional(),
  AWS_REGION: z.string().min(1).default('us-east-1'),
});

/** Parsed Kafka variables. */
export type KafkaEnv = z.infer<typeof kafkaEnv>;
