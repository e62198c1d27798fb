/**
 * Secrets read from Secrets Manager at cold start and cached for the life of the execution environment, so
 * nothing secret sits in a function's configuration (`GetFunctionConfiguration` shows every environment
 * variable). https://docs.aws.amazon.com/lambda/latest/dg/with-secrets-manager.html
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError, TransientError } from './errors.js';
import type { RegistryAuth } from './schema-registry.js';
import * as z from './zod.js';

/** A cached secret: `get` reads it once (again after a failed read or `refresh`). */
export interface CachedSecret<T> {
  /** The secret, read on first use and cached; a failed read is not cached. */
  get(): Promise<T>;
  /** Forgets the cached value (after the secret was rotated): the next `get` reads it again. */
  refresh(): void;
}

/**
 * Caches `load`: concurrent callers share one read, a failed read is forgotten so the next call tries again.
 *
 * @example
 * const secret = cachedSecret(() => readRegistryCredentials(client, arn));
 * const { username } = await secret.get();
 */
export function cachedSecret<T>(load: () => Promise<T>): CachedSecret<T> {
  let cached: Promise<T> | undefined;
  return {
    get() {
      if (!cached) {
        const attempt = load();
        cached = attempt;
        attempt.catch(() => {
          if (cached === attempt) cached = undefined;
        });
      }
      return cached;
    },
    refresh() {
      cached = undefined;
    },
  };
}

const registrySecret = z.object({
  username: z.string().check(z.minLength(1)),
  password: z.string().check(z.minLength(1)),
});

/**
 * Reads the registry's basic-auth credentials from the secret `secretArn`, a JSON `{"username","password"}`.
 * A secret of another shape throws `ConfigError` (naming the secret, never its value); a failed call throws
 * `TransientError`, so the records that needed it are retried.
 *
 * @example
 * const auth = await readRegistryCredentials(new SecretsManagerClient({}), process.env.SCHEMA_REGISTRY_SECRET_ARN);
 */
export async function readRegistryCredentials(client: SecretsManagerClient, secretArn: string): Promise<RegistryAuth> {
  let text: string | undefined;
  try {
    text = (await client.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString;
  } catch (error) {
    throw new TransientError(`could not read registry secret ${secretArn}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text ?? '');
  } catch {
    throw new ConfigError(`registry secret ${secretArn} must be a JSON string {"username","password"}`);
  }
  const result = registrySecret.safeParse(parsed);
  if (!result.success) {
    const fields = result.error.issues.map((issue) => issue.path.join('.')).join(', ');
    throw new ConfigError(
      `registry secret ${secretArn} must hold non-empty "username" and "password" (bad: ${fields})`,
    );
  }
  return result.data;
}

/**
 * The registry credentials of a function, from its configuration: the secret named by
 * `SCHEMA_REGISTRY_SECRET_ARN` (read now, at cold start, and cached), else `SCHEMA_REGISTRY_USERNAME` /
 * `SCHEMA_REGISTRY_PASSWORD` (local development), else none.
 */
export function registryCredentialsOf(
  config: {
    readonly SCHEMA_REGISTRY_SECRET_ARN?: string;
    readonly SCHEMA_REGISTRY_USERNAME?: string;
    readonly SCHEMA_REGISTRY_PASSWORD?: string;
    readonly AWS_REGION: string;
  },
  client: () => SecretsManagerClient = () => new SecretsManagerClient({ region: config.AWS_REGION }),
): CachedSecret<RegistryAuth> | undefined {
  const arn = config.SCHEMA_REGISTRY_SECRET_ARN;
  if (arn) {
    const secrets = client();
    const secret = cachedSecret(() => readRegistryCredentials(secrets, arn));
    // Started during init, so the first invocation does not wait for the round trip (nor does it fail on it:
    // the first `get` awaits or retries it).
    secret.get().catch(() => undefined);
    return secret;
  }
  const { SCHEMA_REGISTRY_USERNAME: username, SCHEMA_REGISTRY_PASSWORD: password } = config;
  if (username && password) return { get: async () => ({ username, password }), refresh: () => {} };
  if (username || password) {
    throw new ConfigError('SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD must be set together');
  }
  return undefined;
}
