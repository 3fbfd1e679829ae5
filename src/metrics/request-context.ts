import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { Logger } from "../logger.js";

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

/** Request header carrying the request id (echoed in the response). */
export const requestIdHeader = "x-request-id";
/** Internal request header naming the protocol of a call (set here, never trusted from clients). */
export const protocolHeader = "x-wagateway-protocol";

const safeId = /^[\w.:-]{1,128}$/;
const procedurePath = /^\/[\w.]+\/\w+$/;

/** The protocol of a request: `grpc`, `grpc-web`, `connect` by procedure path and content type; `rest` otherwise. */
export function protocolOf(path: string, contentType: string | undefined): string {
  if (!procedurePath.test(path)) return "rest";
  const ct = (contentType ?? "").toLowerCase();
  if (ct.startsWith("application/grpc-web")) return "grpc-web";
  if (ct.startsWith("application/grpc")) return "grpc";
  return "connect";
}

/**
 * `log` with a request's id bound (`requestId` on every line), and the caller's organization once it is known
 * (`organizationId`), for what is written while handling it: `id` is the `x-request-id` request header, which
 * {@link withRequestContext} has set on every request. With neither, `log` itself. Called where a line is
 * written, not per request, so a call that logs nothing costs nothing.
 */
export function requestLog(log: Logger, id: string | string[] | null | undefined, organizationId?: string): Logger {
  const bindings: { requestId?: string; organizationId?: string } = {};
  if (typeof id === "string" && id !== "") bindings.requestId = id;
  if (organizationId) bindings.organizationId = organizationId;
  return bindings.requestId || bindings.organizationId ? log.child(bindings) : log;
}

/**
 * Gives every request an id (the caller's `x-request-id` when it is a safe
 * token, else a new UUID), echoes it in the response headers, and notes the
 * protocol for the interceptors (REST copies request headers into its RPC
 * calls, so both reach them).
 */
export function withRequestContext<H extends (req: Req, res: Res) => void>(next: H): H {
  const handler = (req: Req, res: Res) => {
    const given = req.headers[requestIdHeader];
    const id = typeof given === "string" && safeId.test(given) ? given : randomUUID();
    req.headers[requestIdHeader] = id;
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    req.headers[protocolHeader] = protocolOf(q < 0 ? url : url.slice(0, q), req.headers["content-type"]);
    res.setHeader(requestIdHeader, id);
    next(req, res);
  };
  return Object.assign(handler, next);
}
