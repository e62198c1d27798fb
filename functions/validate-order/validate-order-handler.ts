/**
 * validate-order over its ports: the env schema and the `createHandler` the Lambda entry (`handler.ts`) and the
 * tests build on. No module-scope side effects.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import type { EventCodec } from '../../shared/codec.js';
import { kafkaEnv, loadConfig } from '../../shared/config.js';
import type { EventPublisher } from '../../shared/kafka.js';
import { kafkaHandler } from '../../shared/lambda.js';
import type { DeadLetterSink } from '../../shared/msk.js';
import { logger, metrics } from '../../shared/observability.js';
import { type Catalog, CONSUMER, catalogKeysOf, validateOrder } from './validate-order.js';

/** Environment of validate-order: the Kafka variables plus the catalog table. */
export const validateOrderEnv = kafkaEnv.extend({ CATALOG_TABLE: z.string().min(1) });

/** Parsed validate-order configuration. */
export type ValidateOrderConfig = z.infer<typeof validateOrderEnv>;

/** Reads and validates the configuration; throws `ConfigError` naming each missing variable. */
export function loadValidateOrderConfig(env: NodeJS.ProcessEnv = process.env): ValidateOrderConfig {
  return loadConfig(validateOrderEnv, env);
}

/** What `createHandler` needs; tests pass an in-memory Kafka and a catalog over a mocked document client. */
export interface ValidateOrderDeps {
  readonly codec: EventCodec;
  readonly deadLetters: DeadLetterSink;
  readonly publisher: EventPublisher;
  readonly catalog: Catalog;
  /** Epoch milliseconds. @default - the system clock */
  readonly clock?: () => number;
}

/** The validate-order handler over `deps`. */
export function createHandler(deps: ValidateOrderDeps) {
  const ports = { catalog: deps.catalog, publisher: deps.publisher, clock: deps.clock ?? Date.now };
  return kafkaHandler({
    consumer: CONSUMER,
    codec: deps.codec,
    deadLetters: deps.deadLetters,
    // The SKUs and customers of the whole batch in one BatchGetItem, instead of two per record.
    prepare: async (events) => {
      const { skus, customerIds } = catalogKeysOf(events);
      try {
        return (await deps.catalog.preload?.(skus, customerIds)) ?? deps.catalog;
      } catch (error) {
        logger.warn('catalog of the batch could not be read up front; reading it per record', { error });
        return deps.catalog;
      }
    },
    handle: async (event, _record, trace, catalog) => {
      const result = await validateOrder(event, { ...ports, catalog }, trace);
      switch (result.outcome) {
        case 'IGNORED':
          logger.debug('event type not handled; ignored', { type: result.type });
          return;
        case 'OrderValidated':
          logger.info('order validated', { totalCents: result.event.totalCents, currency: result.event.currency });
          metrics.addMetric('OrdersValidated', MetricUnit.Count, 1);
          return;
        case 'OrderRejected':
          logger.info('order rejected', { reason: result.event.reason, detail: result.event.detail });
          metrics.addMetric('OrdersRejected', MetricUnit.Count, 1);
          return;
      }
    },
  });
}
