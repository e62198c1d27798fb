/** Powertools idempotency behind the order API's `IdempotencyGuard`, its errors mapped onto the logic's. */
import {
  IdempotencyAlreadyInProgressError,
  type IdempotencyConfig,
  IdempotencyUnknownError,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import type { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { Logger } from '@aws-lambda-powertools/logger';
import { TransientError } from '../../shared/errors.js';
import {
  IdempotencyConflictError,
  type IdempotencyGuard,
  type IdempotentRequest,
  type PlacedOrder,
  RequestInProgressError,
} from './order-api.js';

/** Stable prefix of idempotency keys, so renaming the deployed function does not forget in-flight keys. */
const IDEMPOTENCY_KEY_PREFIX = 'order-api#POST /orders';

/**
 * An `IdempotencyGuard` over Powertools idempotency: the record key hashes (customerId, Idempotency-Key), the
 * validated body is the payload a retry must match, and Powertools' errors become the logic's. `log` hears of an
 * order placed whose record could not be completed.
 */
export function powertoolsIdempotencyGuard(
  persistenceStore: DynamoDBPersistenceLayer,
  config: IdempotencyConfig,
  log: Pick<Logger, 'warn'>,
): IdempotencyGuard {
  const run = makeIdempotent(
    (_request: IdempotentRequest, place: () => Promise<PlacedOrder>): Promise<PlacedOrder> => place(),
    { persistenceStore, config, keyPrefix: IDEMPOTENCY_KEY_PREFIX, dataIndexArgument: 0 },
  );
  return {
    async once(request, place) {
      let placed: PlacedOrder | undefined;
      try {
        return await run(request, async () => {
          placed = await place();
          return placed;
        });
      } catch (error) {
        if (placed) {
          // Acknowledged by the broker but not recorded as completed: the order exists, so say so. A retry runs
          // again and re-publishes the same derived orderId and eventId, which consumers deduplicate.
          log.warn('order placed but its idempotency record was not completed', {
            orderId: placed.orderId,
            error: error as Error,
          });
          return placed;
        }
        if (error instanceof IdempotencyValidationError) {
          throw new IdempotencyConflictError('Idempotency-Key reused with a different body', { cause: error });
        }
        if (error instanceof IdempotencyAlreadyInProgressError) {
          throw new RequestInProgressError('Idempotency-Key in progress', { cause: error });
        }
        if (error instanceof IdempotencyUnknownError) {
          throw new TransientError('idempotency store failed', { cause: error });
        }
        throw error;
      }
    },
  };
}
