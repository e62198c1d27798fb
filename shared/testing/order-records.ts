/** What the handler tests of the saga steps expect their stores to write about the orders of `events/` fixtures. */
import { derivedId } from '../ids.js';

/** The correlation id `events/<function>/generate.ts` gives the fixture order `orderId`. */
export function fixtureCorrelation(orderId: string): string {
  return derivedId('fixture-correlation', orderId);
}

/**
 * The input of the conditional put that creates a saga step's record of a fixture order: keyed `<keyPrefix>#<orderId>`,
 * carrying the order's id and correlation id, then `fields`, and written only where no record is yet.
 *
 * @example
 * expect(ddb.commandCalls(PutCommand)[0]?.args[0].input).toEqual(
 *   recordCreated(TABLE, 'PAYMENT', orderId, { status: 'CANCELLED', refundReason: 'OUT_OF_STOCK', cancelledAt: NOW }),
 * );
 */
export function recordCreated(tableName: string, keyPrefix: string, orderId: string, fields: Record<string, unknown>) {
  return {
    TableName: tableName,
    Item: { pk: `${keyPrefix}#${orderId}`, orderId, correlationId: fixtureCorrelation(orderId), ...fields },
    ConditionExpression: 'attribute_not_exists(pk)',
  };
}
