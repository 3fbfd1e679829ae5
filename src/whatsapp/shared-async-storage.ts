import asyncHooks, { AsyncLocalStorage } from "node:async_hooks";
import { syncBuiltinESMExports } from "node:module";

/**
 * Baileys (7.0.0-rc14, `addTransactionCapability`) creates a new
 * `AsyncLocalStorage` for every socket it opens and never disables it. On
 * Node 20 every enabled storage is visited on every promise the process
 * creates, so the cost of each promise grows with the number of sockets ever
 * opened: at ~500 sessions a CPU profile showed 47 % of the gateway's time in
 * `async_hooks` propagation. This module gives each socket a storage that
 * behaves like its own but is multiplexed over one real `AsyncLocalStorage`,
 * so the cost stays constant whatever the number of sessions.
 */
const shared = new AsyncLocalStorage<Map<object, unknown>>();

/** A per-socket view of the one shared storage; same contract as `AsyncLocalStorage`. */
class MultiplexedAsyncLocalStorage<T> {
  private disabled = false;

  getStore(): T | undefined {
    return this.disabled ? undefined : (shared.getStore()?.get(this) as T | undefined);
  }

  run<R, A extends unknown[]>(store: T, fn: (...args: A) => R, ...args: A): R {
    this.disabled = false;
    const next = new Map(shared.getStore());
    next.set(this, store);
    return shared.run(next, fn, ...args);
  }

  exit<R, A extends unknown[]>(fn: (...args: A) => R, ...args: A): R {
    const current = shared.getStore();
    if (!current?.has(this)) return fn(...args);
    const next = new Map(current);
    next.delete(this);
    return shared.run(next, fn, ...args);
  }

  enterWith(store: T): void {
    this.disabled = false;
    const next = new Map(shared.getStore());
    next.set(this, store);
    shared.enterWith(next);
  }

  disable(): void {
    this.disabled = true;
  }
}

/**
 * Runs `fn` (synchronous: Baileys' socket factory) with `AsyncLocalStorage`
 * from `node:async_hooks` replaced by the multiplexed one, then restores it.
 * Nothing else in the process sees the replacement.
 */
export function withSharedAsyncStorage<R>(fn: () => R): R {
  const hooks = asyncHooks as unknown as { AsyncLocalStorage: unknown };
  const original = hooks.AsyncLocalStorage;
  hooks.AsyncLocalStorage = MultiplexedAsyncLocalStorage;
  syncBuiltinESMExports();
  try {
    return fn();
  } finally {
    hooks.AsyncLocalStorage = original;
    syncBuiltinESMExports();
  }
}
