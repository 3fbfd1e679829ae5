import { AsyncLocalStorage } from "node:async_hooks";

/** The one real storage behind every multiplexed view. */
const shared = new AsyncLocalStorage<Map<object, unknown>>();

/**
 * A storage with the contract of `AsyncLocalStorage` (run, exit, enterWith,
 * getStore, disable) whose values live in one shared real storage, keyed by
 * this view. However many views exist, the runtime tracks a single storage,
 * so the cost of each promise does not grow with the number of views.
 */
export class MultiplexedAsyncLocalStorage<T> {
  private disabled = false;

  /** The value of the innermost `run`/`enterWith` of this view, if any. */
  getStore(): T | undefined {
    return this.disabled ? undefined : (shared.getStore()?.get(this) as T | undefined);
  }

  /** Runs `fn` with `store` as this view's value; other views keep theirs. */
  run<R, A extends unknown[]>(store: T, fn: (...args: A) => R, ...args: A): R {
    this.disabled = false;
    const next = new Map(shared.getStore());
    next.set(this, store);
    return shared.run(next, fn, ...args);
  }

  /** Runs `fn` with no value for this view; other views keep theirs. */
  exit<R, A extends unknown[]>(fn: (...args: A) => R, ...args: A): R {
    const current = shared.getStore();
    if (!current?.has(this)) return fn(...args);
    const next = new Map(current);
    next.delete(this);
    return shared.run(next, fn, ...args);
  }

  /** Sets this view's value for the rest of the current execution. */
  enterWith(store: T): void {
    this.disabled = false;
    const next = new Map(shared.getStore());
    next.set(this, store);
    shared.enterWith(next);
  }

  /** Makes `getStore` answer `undefined` until the next `run`/`enterWith`. */
  disable(): void {
    this.disabled = true;
  }
}
