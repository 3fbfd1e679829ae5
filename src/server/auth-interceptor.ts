import { create } from "@bufbuild/protobuf";
import type { ConnectError, Interceptor } from "@connectrpc/connect";
import { RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { type AuthFailureLimiter, createAuthFailureLimiter, defaultAuthFailureLimits } from "../auth/auth-failure-limiter.js";
import type { Authenticator } from "../auth/authenticator.js";
import type { Capability } from "../auth/principal.js";
import { apiError, errorWord } from "../errors/api-error.js";
import { clientAddressHeader } from "./client-address.js";
import type { Logger } from "../logger.js";
import { requestIdHeader, requestLog } from "../metrics/request-context.js";
import { kPrincipal } from "../auth/principal-context.js";

/** Services answered without credentials (health checks, reflection). */
export const publicServices = new Set<string>([
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
]);

/** Message RPCs that only read. */
const messageReads = new Set(["GetMessage", "ListMessages", "GetMessageMedia"]);

/** The capability an RPC needs: `read` for the event stream, the gateway list and reading messages, `manage` for everything else. */
export function requiredCapability(service: string, method: string): Capability {
  if (service === "wagateway.v1.SessionService" && method === "WatchEvents") return "read";
  if (service === "wagateway.v1.MessageService" && messageReads.has(method)) return "read";
  if (service === "wagateway.v1.GatewayService") return "read";
  return "manage";
}

/**
 * Authenticates every call (all protocols share it), checks the method's
 * capability, and puts the principal into the context values. A client
 * (network address, see client-address.ts) whose bearer tokens failed too
 * often is answered `rate_limited` with a retry hint, without its token
 * being looked at, until its window ends; calls without a bearer token and
 * successful ones are not counted.
 */
export function authInterceptor(
  authenticate: Authenticator,
  failures: AuthFailureLimiter = createAuthFailureLimiter(defaultAuthFailureLimits),
  log?: Logger,
): Interceptor {
  return (next) => async (req) => {
    const service = req.service.typeName;
    if (publicServices.has(service)) return next(req);
    const client = req.header.get(clientAddressHeader) ?? "unknown";
    const waitMs = failures.retryAfterMs(client);
    if (waitMs > 0) throw tooManyFailures(waitMs);
    const authorization = req.header.get("authorization");
    let principal;
    try {
      principal = await authenticate(authorization);
    } catch (err) {
      if (authorization !== null && /^Bearer +\S/i.test(authorization) && errorWord(err) === "unauthorized") {
        failures.recordFailure(client);
        // Said once per window: the failure that reaches the limit.
        if (log && failures.retryAfterMs(client) > 0) {
          requestLog(log, req.header.get(requestIdHeader)).warn({ client }, "failed bearer tokens over the limit; client refused until its window ends");
        }
      }
      throw err;
    }
    const needed = requiredCapability(service, req.method.name);
    if (!principal.capabilities.has(needed)) {
      throw apiError("forbidden", `the "${needed}" capability is required`);
    }
    req.contextValues.set(kPrincipal, principal);
    return next(req);
  };
}

/** `rate_limited` with the wait as `Retry-After` (seconds), ErrorInfo metadata and a `google.rpc.RetryInfo`. */
function tooManyFailures(waitMs: number): ConnectError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  const err = apiError("rate_limited", `too many failed authentication attempts from this client; retry in ${seconds} s`, {
    metadata: { retry_after_seconds: String(seconds) },
  });
  err.details.push({ desc: RetryInfoSchema, value: create(RetryInfoSchema, { retryDelay: { seconds: BigInt(seconds) } }) });
  err.metadata.set("retry-after", String(seconds));
  return err;
}
