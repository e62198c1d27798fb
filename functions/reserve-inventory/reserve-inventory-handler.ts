/**
 * reserve-inventory over its ports: the env schema and the `createHandler` the Lambda entry (`handler.ts`) and the
 * tests build on. No module-scope side effects.
 */
import { envSchemaOf } from '../../shared/functions.js';
import { sagaStepHandler } from '../../shared/lambda.js';
import type { KafkaRuntime } from '../../shared/runtime.js';
import type { FunctionName } from '../../shared/topology.js';
import { handleInventoryEvent, type InventoryStore, prefetchReservations } from './reserve-inventory.js';

const FUNCTION: FunctionName = 'reserve-inventory';

/** Environment of reserve-inventory, from its contract: the Kafka variables plus the inventory table. */
export const reserveInventoryEnv = envSchemaOf('reserve-inventory');

/** What `createHandler` needs; tests pass an in-memory Kafka and a store over a mocked document client. */
export interface ReserveInventoryDeps extends Pick<KafkaRuntime, 'codec' | 'deadLetters' | 'publisher'> {
  /** Stock and reservations (the INVENTORY table in AWS). */
  readonly store: InventoryStore;
  /** Epoch milliseconds. @default - the system clock */
  readonly clock?: () => number;
}

/** The reserve-inventory handler over `deps`. */
export function createHandler(deps: ReserveInventoryDeps) {
  const ports = { ...deps, clock: deps.clock ?? Date.now };
  return sagaStepHandler({
    consumer: FUNCTION,
    codec: deps.codec,
    deadLetters: deps.deadLetters,
    subject: 'reservation',
    metricPrefix: 'Reservations',
    // The markers of the batch's orders in one BatchGetItem instead of a GetItem per record.
    readAhead: { read: (events) => prefetchReservations(deps.store, events), otherwise: deps.store },
    step: (event, trace, store) => handleInventoryEvent(event, { ...ports, store }, trace),
  });
}
