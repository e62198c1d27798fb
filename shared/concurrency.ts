/** Bounded concurrency for fan-outs: enough requests in flight to be quick, few enough not to be throttled. */

/**
 * Runs `work` over every item with at most `limit` calls in flight, and resolves with each outcome, in the order
 * of `items`, once all have settled: one failure never stops the others.
 *
 * @example
 * const outcomes = await settleAll(connectionIds, 10, (id) => sender.send(id, message));
 * const failed = outcomes.filter((o) => o.status === 'rejected');
 */
export async function settleAll<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  const outcomes: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      try {
        outcomes[index] = { status: 'fulfilled', value: await work(items[index] as T) };
      } catch (reason) {
        outcomes[index] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return outcomes;
}
