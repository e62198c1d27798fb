/** Config tests of the Kafka-fed functions: the environment they share, and how a refused one must fail. */
import { expect } from '@jest/globals';
import { loadConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import type * as z from '../zod.js';

/** The variables every Kafka-fed function needs, pointing at the local stack: add a function's own to it. */
export const KAFKA_ENV: NodeJS.ProcessEnv = {
  KAFKA_BROKERS: '127.0.0.1:9092',
  SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081',
};

/**
 * Asserts that `loadConfig(schema, env)` throws a `ConfigError` saying `message`.
 *
 * @example
 * expectConfigRefused(orderAnalyticsEnv, KAFKA_ENV, 'invalid configuration: ANALYTICS_TABLE is required but not set');
 */
export function expectConfigRefused(schema: z.ZodMiniType, env: NodeJS.ProcessEnv, message: string | RegExp): void {
  const load = () => loadConfig(schema, env);
  expect(load).toThrow(ConfigError);
  expect(load).toThrow(message);
}
