import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { apiError } from "../errors/api-error.js";
import { isDatabaseUnavailable, isTransientDatabaseError } from "../db/database-unavailable.js";
import type { Logger } from "../logger.js";
import { requestIdHeader, requestLog } from "../metrics/request-context.js";
import { kPrincipal } from "../auth/principal-context.js";

export { isDatabaseUnavailable } from "../db/database-unavailable.js";

/**
 * Keeps unexpected errors inside the contract: a database outage, deadlock or
 * serialization failure becomes `unavailable` (retry), anything else
 * `internal` with a generic message (the cause is logged, not sent). Contract
 * errors pass through untouched.
 */
export function errorInterceptor(log: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      const callLog = () => requestLog(log, req.header.get(requestIdHeader), req.contextValues.get(kPrincipal)?.organizationId);
      if (err instanceof ConnectError) {
        if (err.code === Code.Internal || err.code === Code.Unknown) {
          callLog().error({ procedure: req.url, err }, "rpc failed");
        }
        throw err;
      }
      if (isDatabaseUnavailable(err)) {
        callLog().warn({ procedure: req.url, err }, "database unavailable");
        throw apiError("unavailable", "database unavailable, retry later", { cause: err });
      }
      if (isTransientDatabaseError(err)) {
        // A deadlock or serialization failure: the database rolled the call's transaction back.
        callLog().warn({ procedure: req.url, err }, "database conflict");
        throw apiError("unavailable", "the database refused this call in a conflict with another; retry", { cause: err });
      }
      callLog().error({ procedure: req.url, err }, "rpc failed");
      throw apiError("internal", "internal error", { cause: err });
    }
  };
}
