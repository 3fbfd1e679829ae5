import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import type { Principal } from "./principal.js";
import { apiError } from "../errors/api-error.js";

/** The authenticated caller, set by the auth interceptor. */
export const kPrincipal = createContextKey<Principal | undefined>(undefined, { description: "authenticated principal" });

/** The caller of a handler; an authenticated call always has one. */
export function principalOf(ctx: HandlerContext): Principal {
  const p = ctx.values.get(kPrincipal);
  if (!p) throw apiError("unauthorized", "not authenticated");
  return p;
}
