/** An append-only list with waiters: what simulated peers record and tests await. */
export class RecordedList<T> {
  private readonly items: T[] = [];
  private readonly waiters = new Set<{ pred: (item: T) => boolean; resolve: (item: T) => void }>();

  /** Appends an item and wakes the waiters it satisfies. */
  push(item: T): void {
    this.items.push(item);
    for (const w of [...this.waiters]) {
      if (w.pred(item)) {
        this.waiters.delete(w);
        w.resolve(item);
      }
    }
  }

  /** A copy of everything recorded so far, in order. */
  all(): T[] {
    return [...this.items];
  }

  /** Resolves with the first recorded item (past or future) matching `pred`; rejects after `timeoutMs`. */
  waitFor(pred: (item: T) => boolean, timeoutMs: number, what: string): Promise<T> {
    const found = this.items.find(pred);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter = {
        pred,
        resolve: (item: T) => {
          clearTimeout(timer);
          resolve(item);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`wa-sim: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }
}
