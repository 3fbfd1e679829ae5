import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { apiError } from "../errors/api-error.js";
import { isDatabaseUnavailable } from "../db/database-unavailable.js";
import type { Logger } from "../logger.js";

export { isDatabaseUnavailable } from "../db/database-unavailable.js";

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
