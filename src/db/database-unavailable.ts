/** Error codes of `pg`/PGlite/network failures that mean the database is unreachable. */
const unavailableCodes = new Set([
  ..."ECONNREFUSED ECONNRESET ETIMEDOUT EPIPE ENOTFOUND".split(" "),
  // admin/crash shutdown, cannot connect now, connection exceptions, too many connections
  ..."57P01 57P02 57P03 08000 08003 08006 08001 08004 53300".split(" "),
]);

/** PostgreSQL codes worth retrying as they are: serialization failure, deadlock. */
const retryCodes = new Set(["40001", "40P01"]);

/** True for errors that say the database cannot be reached right now (pool exhausted, or the server refusing new connections, included). */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && unavailableCodes.has(code)) return true;
  return /Connection terminated|timeout exceeded when trying to connect|database is closed|Client has encountered a connection error/i.test(err.message);
}

/** True for errors after which the same write may simply be tried again. */
export function isTransientDatabaseError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return isDatabaseUnavailable(err) || (typeof code === "string" && retryCodes.has(code));
}

/**
 * Runs `write` until it succeeds, retrying transient database errors with
 * exponential backoff (100 ms doubling to 5 s) for at most `maxMs`; any
 * other error, or the last transient one, is thrown.
 */
export async function retryTransient<T>(write: () => Promise<T>, maxMs = 60_000): Promise<T> {
  const deadline = Date.now() + maxMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 5_000)) {
    try {
      return await write();
    } catch (err) {
      if (!isTransientDatabaseError(err) || Date.now() + delay > deadline) throw err;
      await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random() / 2)));
    }
  }
}
