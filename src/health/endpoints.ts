import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

/** A plain HTTP endpoint answering `GET` (and `HEAD`) at a fixed path. */
export type Endpoint = (req: Req, res: Res) => void | Promise<void>;

/**
 * Serves `endpoints` (path → handler; query strings ignored) in front of
 * `next`, for operational routes such as `/healthz` that live outside the
 * contract: no auth, no CORS, no REST envelope.
 */
export function withEndpoints<H extends (req: Req, res: Res) => void>(next: H, endpoints: ReadonlyMap<string, Endpoint>): H {
  const handler = (req: Req, res: Res) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const endpoint = endpoints.get(q < 0 ? url : url.slice(0, q));
    if (!endpoint || (req.method !== "GET" && req.method !== "HEAD")) return next(req, res);
    Promise.resolve(endpoint(req, res)).catch(() => {
      if (!res.headersSent) res.statusCode = 500;
      res.end();
    });
  };
  return Object.assign(handler, next);
}

/** Writes a JSON body with `status`. */
export function sendJson(res: Res, status: number, body: unknown): void {
  const text = JSON.stringify(body) + "\n";
  res.statusCode = status;
  res.setHeader("content-type", "application/json");
  res.setHeader("cache-control", "no-store");
  res.setHeader("content-length", Buffer.byteLength(text));
  res.end(text);
}
