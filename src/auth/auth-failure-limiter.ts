/** Limits of {@link createAuthFailureLimiter}. */
export interface AuthFailureLimits {
  /** Failed bearer attempts a client may make per window; 0 turns the limiter off. */
  limit: number;
  /** The window, from a client's first counted failure. */
  windowMs: number;
}

/** The defaults: 100 failed attempts per client per minute. */
export const defaultAuthFailureLimits: AuthFailureLimits = { limit: 100, windowMs: 60_000 };

/** Counts failed authentications per client and says when a client must wait. */
export interface AuthFailureLimiter {
  /** Milliseconds `client` must wait before its credentials are looked at again; 0 when it may try now. */
  retryAfterMs(client: string): number;
  /** Counts one failed attempt of `client`. */
  recordFailure(client: string): void;
}

interface Window {
  startedAt: number;
  failures: number;
}

/**
 * A fixed window per client, opened by its first failure: once a client has
 * `limit` failures in it, every call of that client is refused until the
 * window ends, without its credentials being checked. Successful
 * authentications are not counted. At most `maxClients` windows are kept
 * (expired ones go first, then the oldest), so a flood of addresses cannot
 * grow memory without bound.
 */
export function createAuthFailureLimiter(limits: AuthFailureLimits, now: () => number = Date.now, maxClients = 100_000): AuthFailureLimiter {
  const windows = new Map<string, Window>();
  const sweep = (t: number) => {
    for (const [client, w] of windows) if (t - w.startedAt >= limits.windowMs) windows.delete(client);
    while (windows.size >= maxClients) windows.delete(windows.keys().next().value!);
  };
  return {
    retryAfterMs(client) {
      if (limits.limit === 0) return 0;
      const w = windows.get(client);
      if (!w || w.failures < limits.limit) return 0;
      const left = w.startedAt + limits.windowMs - now();
      if (left > 0) return left;
      windows.delete(client);
      return 0;
    },
    recordFailure(client) {
      if (limits.limit === 0) return;
      const t = now();
      const w = windows.get(client);
      if (w && t - w.startedAt < limits.windowMs) {
        w.failures++;
        return;
      }
      windows.delete(client);
      if (windows.size >= maxClients) sweep(t);
      windows.set(client, { startedAt: t, failures: 1 });
    },
  };
}
