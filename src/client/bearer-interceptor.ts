import type { Interceptor } from "@connectrpc/connect";

/** Sends `Authorization: Bearer <token>` on every call (an API key `wag_…` or a login JWT). */
export function bearerInterceptor(token: string): Interceptor {
  return (next) => (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
}
