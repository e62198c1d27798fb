/** Giving up on work that cannot be cancelled. */

/**
 * Settles as `work` does, or rejects with the signal's reason as soon as it aborts. `work` itself runs on (its
 * outcome is then observed by no one, and a rejection of it is not unhandled).
 *
 * @example
 * await abandonedOnAbort(producer.sendBatch(batch), AbortSignal.timeout(2_000));
 */
export function abandonedOnAbort<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason);
    if (signal.aborted) {
      abort();
      work.catch(() => {});
      return;
    }
    signal.addEventListener('abort', abort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}
