import type { Interceptor } from "@connectrpc/connect";
import type { Authenticator } from "../auth/authenticator.js";
import type { Capability } from "../auth/principal.js";
import { apiError } from "../errors/api-error.js";
import { kPrincipal } from "./context-values.js";

/** Services answered without credentials (health checks, reflection). */
export const publicServices = new Set<string>([
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
]);

/** The capability an RPC needs: `read` for the event stream and the gateway list, `manage` for everything else. */
export function requiredCapability(service: string, method: string): Capability {
  if (service === "wagateway.v1.SessionService" && method === "WatchEvents") return "read";
  if (service === "wagateway.v1.GatewayService") return "read";
  return "manage";
}

/**
 * Authenticates every call (all protocols share it), checks the method's
 * capability, and puts the principal into the context values.
 */
export function authInterceptor(authenticate: Authenticator): Interceptor {
  return (next) => async (req) => {
    const service = req.service.typeName;
    if (publicServices.has(service)) return next(req);
    const principal = await authenticate(req.header.get("authorization"));
    const needed = requiredCapability(service, req.method.name);
    if (!principal.capabilities.has(needed)) {
      throw apiError("forbidden", `the "${needed}" capability is required`);
    }
    req.contextValues.set(kPrincipal, principal);
    return next(req);
  };
}
