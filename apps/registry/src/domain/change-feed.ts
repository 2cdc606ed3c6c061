/**
 * Wakes everyone waiting on a key (a service type, or the whole table) at its next change.
 * A change costs one pass over the key's waiters, whatever they asked for: the answer they
 * get is serialized once per change (see listings), so 5,000 watchers of a type are all
 * answered in the same turn of the event loop. A waiter that times out or whose client left
 * is removed at once, so idle watchers leave nothing behind.
 */
export class ChangeFeed {
  private readonly waiters = new Map<string, Set<() => void>>();
  private released = false;

  /** Resolves at the next change of `key`, after `ms`, or when `abort` fires; whichever is first. */
  wait(key: string, ms: number, abort?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.released || abort?.aborted) return resolve();
      let set = this.waiters.get(key);
      if (!set) {
        set = new Set();
        this.waiters.set(key, set);
      }
      const waiters = set;
      const timer = setTimeout(finish, ms);
      function finish() {
        clearTimeout(timer);
        waiters.delete(finish);
        abort?.removeEventListener('abort', finish);
        resolve();
      }
      waiters.add(finish);
      abort?.addEventListener('abort', finish, { once: true });
    });
  }

  /** How many requests wait on `key` now (on any key without one). */
  waiting(key?: string): number {
    if (key !== undefined) return this.waiters.get(key)?.size ?? 0;
    let total = 0;
    for (const set of this.waiters.values()) total += set.size;
    return total;
  }

  notify(keys: Iterable<string>): void {
    for (const key of keys) {
      const set = this.waiters.get(key);
      if (!set) continue;
      this.waiters.delete(key);
      for (const finish of set) finish();
    }
  }

  /** Answers every waiter now and from now on (the server is closing). */
  release(): void {
    this.released = true;
    this.notify([...this.waiters.keys()]);
  }
}
