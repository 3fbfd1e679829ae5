import { setMaxListeners } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { Code, type ConnectRouter, ConnectError, type ContextValues, createConnectRouter } from "@connectrpc/connect";
import type { UniversalHandler, UniversalHandlerOptions } from "@connectrpc/connect/protocol";
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { Logger } from "../logger.js";
import { requestIdHeader, requestLog } from "../metrics/request-context.js";
import { withBinaryInputGuard } from "../server/binary-input-guard.js";
import { clientAddressHeader, clientKey } from "../server/client-address.js";
import { clientOrigin, type TrustedProxies } from "../server/trusted-proxies.js";
import { createConnectUnaryFastPath, type UnaryFastPathOptions } from "../server/connect-unary-fast-path.js";
import { createGrpcUnaryFastPath } from "../server/grpc-unary-fast-path.js";
import { createStreamFastPath } from "../server/stream-fast-path.js";
import { createCors } from "./cors.js";
import { directRouter } from "./direct-router.js";
import { type MediaRenderer, qrCodePngRenderer } from "./media-renderer.js";
import { buildOpenApi, type OpenApiInfo } from "./openapi.js";
import { createRestHandler } from "./rest-handler.js";

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

/** Options of {@link createGatewayHandler}: connect-node's adapter options plus REST and CORS. */
export interface GatewayHandlerOptions extends Partial<UniversalHandlerOptions> {
  /** Registers the services (the same function connect-node's adapter takes). */
  routes: (router: ConnectRouter) => void;
  contextValues?: (req: Req) => ContextValues;
  /** Largest request body (REST) and message (Connect, gRPC, gRPC-Web). Default 1 MiB. */
  maxBodyBytes?: number;
  /** Browser origins allowed by CORS; `["*"]` for any; empty or unset: CORS off. */
  corsOrigins?: readonly string[];
  /** A REST request body that stalls this long is refused with 408. Default 30 s. */
  bodyIdleMs?: number;
  /** Interval of SSE heartbeat comments. Default 15 s. */
  sseHeartbeatMs?: number;
  /** Alternative REST response bodies by `Accept`; default: the QR code PNG of GetQrCode. */
  renderers?: readonly MediaRenderer[];
  /** Title and version of the generated OpenAPI document. */
  openApi?: OpenApiInfo;
  log?: Logger;
  /** Proxies whose forwarding headers name the client (`TRUSTED_PROXIES`); others' are ignored. */
  trustedProxies?: TrustedProxies;
}

/** A node request handler for HTTP/1.1 and HTTP/2, with its router. */
export type GatewayHandler = ((req: Req, res: Res) => void) & { router: ConnectRouter };

/**
 * One request handler for every protocol: CORS first, then Connect, gRPC and
 * gRPC-Web by procedure path, then REST/JSON (and `/openapi.json`) for
 * everything else. The router is built once; REST calls run through its
 * handlers in-process. Every request gets the internal client-address header.
 */
export function createGatewayHandler(options: GatewayHandlerOptions): GatewayHandler {
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  // Every in-flight call listens on the shutdown signal: not a leak.
  if (options.shutdownSignal) setMaxListeners(0, options.shutdownSignal);
  const acceptCompression = options.acceptCompression ?? [compressionGzip, compressionBrotli];
  const readMaxBytes = options.readMaxBytes ?? maxBodyBytes;
  const router = createConnectRouter({ ...options, acceptCompression, readMaxBytes });
  // REST (and the unary fast paths) call unary methods directly through the same interceptors (no protocol round trip).
  const recorded = directRouter(router, options.interceptors ?? []);
  options.routes(recorded.router);
  // Undecodable protobuf is the caller's fault: validation_error, not connect-es's internal.
  const paths = new Map<string, UniversalHandler>();
  for (const h of router.handlers) paths.set(h.requestPath, withBinaryInputGuard(h, { readMaxBytes, acceptCompression, ...(options.jsonOptions && { jsonOptions: options.jsonOptions }) }));
  const renderers = options.renderers ?? [qrCodePngRenderer];
  const openapi = JSON.stringify(buildOpenApi([...new Set(router.handlers.map((h) => h.service))], options.openApi, renderers));
  const rest = createRestHandler({
    handlers: router.handlers,
    direct: recorded.direct,
    streams: recorded.streams,
    maxBodyBytes,
    heartbeatMs: options.sseHeartbeatMs ?? 15_000,
    ...(options.bodyIdleMs !== undefined && { bodyIdleMs: options.bodyIdleMs }),
    renderers,
    documents: new Map([["/openapi.json", { contentType: "application/json", body: openapi }]]),
    log: options.log,
  });
  /** The log of one request: its id bound. */
  const logFor = (req: Req) => options.log && requestLog(options.log, req.headers[requestIdHeader]);
  const cors = createCors({ allowedOrigins: options.corsOrigins ?? [] });
  // Connect and gRPC unary calls in their common form skip connect-es's protocol handlers (same interceptors and implementations).
  const fastOptions: UnaryFastPathOptions = {
    direct: recorded.direct,
    readMaxBytes,
    acceptCompression,
    compressMinBytes: options.compressMinBytes ?? 1024,
    jsonOptions: options.jsonOptions,
    contextValues: options.contextValues,
    onError: (err, req) => logFor(req)?.error({ err }, "rpc fast path failed"),
  };
  const fastConnect = createConnectUnaryFastPath(fastOptions);
  const fastGrpc = createGrpcUnaryFastPath(fastOptions);
  // Server streams with a direct form (WatchEvents) write shared bytes to every stream, in their common form.
  const fastStream = createStreamFastPath({
    streams: recorded.streams,
    readMaxBytes,
    jsonOptions: options.jsonOptions,
    contextValues: options.contextValues,
    onError: (err, req) => logFor(req)?.error({ err }, "rpc stream fast path failed"),
  });

  const handler = (req: Req, res: Res) => {
    if (cors(req, res)) return;
    // Who is calling, for the interceptors (failed-auth limit): the TCP peer, or what a trusted proxy forwarded;
    // whatever a client sent in this header is overwritten.
    req.headers[clientAddressHeader] = clientKey(options.trustedProxies ? clientOrigin(req.socket?.remoteAddress, req.headers, options.trustedProxies).address : req.socket?.remoteAddress);
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const uHandler = paths.get(q < 0 ? url : url.slice(0, q));
    if (!uHandler) return rest(req, res);
    if (fastConnect(req, res, uHandler.method) || fastGrpc(req, res, uHandler.method) || fastStream(req, res, uHandler.method)) return;
    const uReq = universalRequestFromNodeRequest(req, res, undefined, options.contextValues?.(req));
    uHandler(uReq)
      .then((uRes) => universalResponseToNodeResponse(uRes, res))
      .catch((reason: unknown) => {
        if (ConnectError.from(reason).code === Code.Aborted) return;
        logFor(req)?.error({ procedure: uHandler.requestPath, err: reason }, "rpc handler failed");
      });
  };
  return Object.assign(handler, { router });
}
