/** In-memory stores whose tests race a concurrent writer against the logic's next write. */

/**
 * Base of in-memory stores: a store calls `concurrentWriter()` first thing in every write, so the hook a test sets
 * in `beforeNextWrite` runs once, just before that write's condition is checked.
 *
 * @example
 * class MemoryStore extends ConcurrentWriterStore {
 *   async create(item: Item) { this.concurrentWriter(); ... }
 * }
 * store.beforeNextWrite = () => store.items.set(id, theirs);
 */
export abstract class ConcurrentWriterStore {
  /** Runs just before the next write is checked: a concurrent writer. */
  beforeNextWrite: (() => void) | undefined;

  /** Runs and clears `beforeNextWrite`. */
  protected concurrentWriter(): void {
    const hook = this.beforeNextWrite;
    this.beforeNextWrite = undefined;
    hook?.();
  }
}
