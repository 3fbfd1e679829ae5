import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { apiError } from "../errors/api-error.js";
import type { Logger } from "../logger.js";

/** Error codes of `pg`/PGlite/network failures that mean the database is unreachable. */
const unavailableCodes = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004"]);

/** True for errors that say the database cannot be reached right now. */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && unavailableCodes.has(code)) return true;
  return /Connection terminated|timeout exceeded when trying to connect|database is closed|Client has encountered a connection error/i.test(err.message);
}

/**
 * Keeps unexpected errors inside the contract: a database outage becomes
 * `unavailable`, anything else `internal` with a generic message (the cause is
 * logged, not sent). Contract errors pass through untouched.
 */
export function errorInterceptor(log: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      if (err instanceof ConnectError) {
        if (err.code === Code.Internal || err.code === Code.Unknown) {
          log.error("rpc failed", { procedure: req.url, err });
        }
        throw err;
      }
      if (isDatabaseUnavailable(err)) {
        log.warn("database unavailable", { procedure: req.url, err });
        throw apiError("unavailable", "database unavailable, retry later", { cause: err });
      }
      log.error("rpc failed", { procedure: req.url, err });
      throw apiError("internal", "internal error", { cause: err });
    }
  };
}
