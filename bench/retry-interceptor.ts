import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/**
 * Retries a unary call answered `unavailable` (the contract's "retry later",
 * e.g. an exhausted connection pool while hundreds of sessions pair) up to 8
 * times with backoff, as a well-behaved client would. Bench clients count on
 * the gateway shedding load, not on it never doing so.
 */
export function retryUnavailable(): Interceptor {
  return (next) => async (req) => {
    for (let attempt = 1, delay = 100; ; attempt++, delay = Math.min(delay * 2, 3_000)) {
      try {
        return await next(req);
      } catch (err) {
        if (req.stream || attempt >= 8 || !(err instanceof ConnectError) || err.code !== Code.Unavailable) throw err;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  };
}
