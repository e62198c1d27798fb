/**
 * Readiness probes of the local stack's services, shared by `stack:up` (waits for them), `stack:status` and the
 * integration tests' preflight. Each probe speaks the service's own protocol: a Kafka metadata request, the
 * registry's `/subjects`, each emulator's health page.
 */
import { Kafka, logLevel } from 'kafkajs';
import type { StackConfig } from './config.js';

/** One service's probe result. */
export interface ServiceHealth {
  readonly service: string;
  readonly address: string;
  readonly healthy: boolean;
  /** Why it is not healthy, or what it reported. */
  readonly detail: string;
}

/** Whether the brokers answer a metadata request; `detail` names the controller and broker count. */
export async function kafkaHealth(brokers: readonly string[], timeoutMs = 3_000): Promise<ServiceHealth> {
  const address = brokers.join(',');
  const kafka = new Kafka({
    clientId: 'orderflow-stack-probe',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.min(timeoutMs, 1_000),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await withTimeout(admin.connect(), timeoutMs);
    const cluster = await withTimeout(admin.describeCluster(), timeoutMs);
    return {
      service: 'kafka',
      address,
      healthy: true,
      detail: `${cluster.brokers.length} broker(s), controller ${cluster.controller}`,
    };
  } catch (error) {
    return { service: 'kafka', address, healthy: false, detail: (error as Error).message };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Whether the Confluent-compatible registry lists its subjects. */
export async function registryHealth(url: string, timeoutMs = 3_000): Promise<ServiceHealth> {
  try {
    const response = await fetch(`${url}/subjects`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok)
      return { service: 'schema-registry', address: url, healthy: false, detail: `HTTP ${response.status}` };
    const subjects = (await response.json()) as unknown[];
    return { service: 'schema-registry', address: url, healthy: true, detail: `${subjects.length} subject(s)` };
  } catch (error) {
    return { service: 'schema-registry', address: url, healthy: false, detail: describeFetchError(error) };
  }
}

/** Whether Dynoxide answers its health page (`GET /` says `healthy: ...`). */
export async function dynamodbHealth(endpoint: string, timeoutMs = 3_000): Promise<ServiceHealth> {
  try {
    const response = await fetch(`${endpoint}/`, { signal: AbortSignal.timeout(timeoutMs) });
    const text = (await response.text()).trim();
    const healthy = response.ok && text.startsWith('healthy');
    return {
      service: 'dynamodb',
      address: endpoint,
      healthy,
      detail: healthy ? 'Dynoxide' : `HTTP ${response.status}`,
    };
  } catch (error) {
    return { service: 'dynamodb', address: endpoint, healthy: false, detail: describeFetchError(error) };
  }
}

/** Whether MiniStack reports SQS, EventBridge and SES available (`/_ministack/health`). */
export async function ministackHealth(endpoint: string, timeoutMs = 3_000): Promise<ServiceHealth> {
  const service = 'sqs-eventbridge-ses';
  try {
    const response = await fetch(`${endpoint}/_ministack/health`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return { service, address: endpoint, healthy: false, detail: `HTTP ${response.status}` };
    const body = (await response.json()) as { services?: Record<string, string>; version?: string };
    const wanted = ['sqs', 'events', 'ses'];
    const missing = wanted.filter((s) => !['available', 'running'].includes(body.services?.[s] ?? ''));
    return {
      service,
      address: endpoint,
      healthy: missing.length === 0,
      detail: missing.length === 0 ? `MiniStack ${body.version ?? ''}`.trim() : `not available: ${missing.join(', ')}`,
    };
  } catch (error) {
    return { service, address: endpoint, healthy: false, detail: describeFetchError(error) };
  }
}

/**
 * Whether the Glue Schema Registry emulator answers a real Glue call (`AWSGlue.ListSchemas`, JSON 1.1; the
 * emulator checks no signature); `detail` counts the schemas of the first page.
 */
export async function glueHealth(endpoint: string, timeoutMs = 3_000): Promise<ServiceHealth> {
  const service = 'glue-schema-registry';
  try {
    const response = await fetch(`${endpoint}/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'AWSGlue.ListSchemas' },
      body: '{}',
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) return { service, address: endpoint, healthy: false, detail: `HTTP ${response.status}` };
    const body = (await response.json()) as { Schemas?: unknown[]; NextToken?: string };
    const count = `${body.Schemas?.length ?? 0}${body.NextToken ? '+' : ''}`;
    return { service, address: endpoint, healthy: true, detail: `local Glue emulator, ${count} schema(s)` };
  } catch (error) {
    return { service, address: endpoint, healthy: false, detail: describeFetchError(error) };
  }
}

/** Whether an HTTP UI (Redpanda Console) answers. */
export async function httpHealth(service: string, url: string, timeoutMs = 3_000): Promise<ServiceHealth> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { service, address: url, healthy: response.ok, detail: `HTTP ${response.status}` };
  } catch (error) {
    return { service, address: url, healthy: false, detail: describeFetchError(error) };
  }
}

/** Probes Kafka, the registry and the AWS emulators (Glue's included) of `config` in parallel. */
export function coreHealth(config: StackConfig): Promise<ServiceHealth[]> {
  return Promise.all([
    kafkaHealth(config.kafkaBrokers),
    registryHealth(config.schemaRegistryUrl),
    dynamodbHealth(config.dynamodbEndpointUrl),
    ministackHealth(config.awsEndpointUrl),
    glueHealth(config.glueEndpointUrl),
  ]);
}

function describeFetchError(error: unknown): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message;
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
