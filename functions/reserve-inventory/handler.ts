/**
 * reserve-inventory Lambda: orders.validated and payment.events in, stock taken or given back in the INVENTORY
 * table, inventory.events out.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { EventCodec } from '../../shared/codec.js';
import { kafkaEnv, loadConfig } from '../../shared/config.js';
import type { EventPublisher } from '../../shared/kafka.js';
import { kafkaHandler } from '../../shared/lambda.js';
import type { DeadLetterSink } from '../../shared/msk.js';
import { logger, metrics } from '../../shared/observability.js';
import { kafkaRuntime } from '../../shared/runtime.js';
import type { FunctionName } from '../../shared/topology.js';
import { dynamoInventoryStore } from './inventory-store.js';
import { handleInventoryEvent } from './reserve-inventory.js';

const FUNCTION: FunctionName = 'reserve-inventory';

const config = loadConfig(kafkaEnv.extend({ INVENTORY_TABLE: z.string().min(1) }));
const kafka = kafkaRuntime(config, FUNCTION);
const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({ region: config.AWS_REGION }), {
  marshallOptions: { removeUndefinedValues: true },
});

/** What `createHandler` needs; tests pass an in-memory Kafka and a mocked document client. */
export interface ReserveInventoryDeps {
  readonly codec: EventCodec;
  readonly deadLetters: DeadLetterSink;
  readonly publisher: EventPublisher;
  readonly documentClient: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Epoch milliseconds. @default - the system clock */
  readonly clock?: () => number;
}

/** The reserve-inventory handler over `deps`. */
export function createHandler(deps: ReserveInventoryDeps) {
  const ports = {
    store: dynamoInventoryStore(deps.documentClient, deps.tableName),
    publisher: deps.publisher,
    clock: deps.clock ?? Date.now,
  };
  return kafkaHandler({
    consumer: FUNCTION,
    codec: deps.codec,
    deadLetters: deps.deadLetters,
    handle: async (event, _record, trace) => {
      const outcome = await handleInventoryEvent(event, ports, trace);
      if (outcome.status === undefined) return;
      if (outcome.changed) {
        logger.info('reservation changed', { type: event.type, status: outcome.status });
        metrics.addMetric(`Reservations${pascal(outcome.status)}`, MetricUnit.Count, 1);
      } else {
        logger.info('reservation already decided; outcome re-emitted', { type: event.type, status: outcome.status });
      }
    },
  });
}

function pascal(status: string): string {
  return status.charAt(0) + status.slice(1).toLowerCase();
}

/** Lambda entry point. */
export const handler = createHandler({
  codec: kafka.codec,
  deadLetters: kafka.deadLetters,
  publisher: kafka.publisher,
  documentClient,
  tableName: config.INVENTORY_TABLE,
});
