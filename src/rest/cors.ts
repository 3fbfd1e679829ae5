import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { cors as connectCors } from "@connectrpc/connect";

/** Which browser origins may call the gateway. */
export interface CorsOptions {
  /** Allowed origins (`https://app.example.com`), or `["*"]` for any. Empty: CORS off. */
  allowedOrigins: readonly string[];
  /** How long browsers may cache a preflight, in seconds. */
  maxAgeSec?: number;
}

const allowMethods = [...new Set([...connectCors.allowedMethods, "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])].join(", ");
const allowHeaders = [...new Set([...connectCors.allowedHeaders, "Authorization", "Last-Event-ID", "Accept", "Cache-Control", "X-Request-Id"])].join(", ");
const exposeHeaders = [...new Set([...connectCors.exposedHeaders, "WWW-Authenticate", "Allow", "Retry-After", "X-Request-Id"])].join(", ");

/**
 * Applies CORS to a response (REST, Connect, gRPC-Web alike). Returns true
 * when the request was a preflight and has been answered.
 */
export type CorsApplier = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => boolean;

/** Creates the CORS step for {@link CorsOptions}. */
export function createCors(opts: CorsOptions): CorsApplier {
  const any = opts.allowedOrigins.includes("*");
  // Origins compare as browsers send them: no trailing slash, lowercase scheme and host.
  const allowed = new Set(opts.allowedOrigins.map((o) => o.replace(/\/+$/, "").toLowerCase()));
  const maxAge = String(opts.maxAgeSec ?? 7200);
  if (!any && allowed.size === 0) return () => false;
  return (req, res) => {
    const origin = req.headers.origin;
    if (typeof origin !== "string" || origin === "") return false;
    const ok = any || allowed.has(origin.toLowerCase());
    const preflight = req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;
    if (ok) {
      res.setHeader("access-control-allow-origin", any ? "*" : origin);
      if (!any) res.setHeader("vary", "Origin");
      if (!preflight) res.setHeader("access-control-expose-headers", exposeHeaders);
    }
    if (!preflight) return false;
    if (ok) {
      res.setHeader("access-control-allow-methods", allowMethods);
      res.setHeader("access-control-allow-headers", allowHeaders);
      res.setHeader("access-control-max-age", maxAge);
    }
    res.statusCode = 204;
    res.end();
    return true;
  };
}
