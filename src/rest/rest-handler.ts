import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { DescMethod, Message } from "@bufbuild/protobuf";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import { validationError } from "../errors/api-error.js";
import type { Logger } from "../logger.js";
import { requestIdHeader, requestLog } from "../metrics/request-context.js";
import { BodyError, parseJsonBody, readBody } from "./body-reader.js";
import type { DirectStream } from "./direct-stream.js";
import type { DirectResult, DirectUnary } from "./direct-unary.js";
import { type MessageSink, type OutgoingMessage, sharedEncoding, sinkSoftLimitBytes } from "../server/message-sink.js";
import { type HttpBinding, readHttpBindings } from "./http-rule.js";
import { invokeServerStream, invokeUnary, rpcRequestHeader, type UnaryResult } from "./invoke.js";
import { FieldError } from "./json-read.js";
import { acceptsMedia, type MediaRenderer } from "./media-renderer.js";
import { writeFieldJson, writeMessageJson } from "./json-write.js";
import { buildRequestMessage, readText } from "./request-message.js";
import { envelope, type RestError, restErrorOf } from "./rest-error.js";
import { createRouteTable, type RouteTable } from "./route-table.js";
import { streamItemMapper, type StreamItemMapper } from "./stream-item.js";

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

/** Options of {@link createRestHandler}. */
export interface RestHandlerOptions {
  /** The router's handlers (`router.handlers`); their services' annotations define the routes. */
  handlers: readonly UniversalHandler[];
  /** Unary methods callable in-process through the router's interceptors; others go through their handler. */
  direct?: ReadonlyMap<DescMethod, DirectUnary>;
  /** Server streams with a direct form: served from their sink (shared bytes), not through their handler. */
  streams?: ReadonlyMap<DescMethod, DirectStream>;
  /** Largest request body accepted; larger ones get 413. */
  maxBodyBytes: number;
  /** Interval of SSE heartbeat comments. */
  heartbeatMs: number;
  /** A request body that stalls this long is refused with 408. Default 30 s. */
  bodyIdleMs?: number;
  /** How long a stream may stay silent before its 200 headers are sent anyway. */
  streamHeadersWaitMs?: number;
  /** Alternative response bodies by `Accept` (e.g. a QR code PNG). */
  renderers?: readonly MediaRenderer[];
  /** Extra documents served as-is on GET (e.g. `/openapi.json`), public. */
  documents?: ReadonlyMap<string, { contentType: string; body: string }>;
  log?: Logger | undefined;
}

/** A REST request handler; it answers every request it is given (404/405 included). */
export type RestHandler = ((req: Req, res: Res) => void) & { table: RouteTable };

interface Route {
  binding: HttpBinding;
  handler: UniversalHandler;
  direct: DirectUnary | undefined;
  streaming: boolean;
  mapper: StreamItemMapper | undefined;
  /** A server stream's direct form, with each shared message's SSE and NDJSON bytes built once. */
  directStream: { call: DirectStream; sse: (m: OutgoingMessage) => Buffer | undefined; ndjson: (m: OutgoingMessage) => Buffer | undefined } | undefined;
  renderers: MediaRenderer[];
}

/**
 * The REST/JSON transcoder: routes from the `google.api.http` annotations of
 * every service the handlers serve, each call made in-process through the
 * router's interceptors (auth and error mapping shared): unary calls
 * directly when `direct` has them, streams through the router's handler.
 */
export function createRestHandler(opts: RestHandlerOptions): RestHandler {
  const byMethod = new Map<DescMethod, UniversalHandler>();
  const services = new Set(opts.handlers.map((h) => h.service));
  for (const h of opts.handlers) byMethod.set(h.method, h);
  const bindings = readHttpBindings(services).filter((b) => byMethod.has(b.method));
  const table = createRouteTable(bindings);
  const routes = new Map<HttpBinding, Route>();
  for (const b of bindings) {
    const streaming = b.method.methodKind === "server_streaming";
    if (b.method.methodKind === "client_streaming" || b.method.methodKind === "bidi_streaming") continue;
    const name = `${b.method.parent.typeName}/${b.method.name}`;
    const renderers = (opts.renderers ?? []).filter((r) => r.method === name);
    const direct = streaming ? undefined : opts.direct?.get(b.method);
    const mapper = streaming ? streamItemMapper(b) : undefined;
    const call = streaming ? opts.streams?.get(b.method) : undefined;
    const directStream = call && mapper ? { call, ...restStreamEncodings(mapper) } : undefined;
    routes.set(b, { binding: b, handler: byMethod.get(b.method)!, direct, streaming, mapper, directStream, renderers });
  }
  const waitMs = opts.streamHeadersWaitMs ?? 500;

  const handle = async (req: Req, res: Res) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? "GET";
    if ((method === "GET" || method === "HEAD") && opts.documents?.has(path)) {
      const doc = opts.documents.get(path)!;
      return send(res, 200, { "content-type": doc.contentType, "cache-control": "no-cache" }, doc.body);
    }
    const m = table.match(method, path);
    if (m.kind === "not-found") {
      return sendError(res, envelope(404, "not_found", `no route for ${method} ${truncate(path)}`));
    }
    if (m.kind === "method-not-allowed") {
      const allow = m.allow.join(", ");
      if (method === "OPTIONS") return send(res, 204, { allow }, undefined);
      return sendError(res, envelope(405, "not_found", `method ${truncate(method)} not allowed here; allowed: ${allow}`, {}, { allow }));
    }
    const route = routes.get(m.binding);
    if (!route) return sendError(res, envelope(404, "not_found", `no route for ${method} ${truncate(path)}`));

    let body: unknown;
    if (hasBody(req)) {
      const read = await readBody(req, opts.maxBodyBytes, opts.bodyIdleMs);
      if (!read.ok) {
        if (read.reason === "aborted") return;
        const close = req.httpVersionMajor === 1 ? { connection: "close" } : undefined;
        if (read.reason === "timeout") return sendError(res, envelope(408, "validation_error", "request body not received in time", { fields: { body: "arrived too slowly" } }, close));
        return sendError(res, envelope(413, "validation_error", `request body exceeds ${opts.maxBodyBytes} bytes`, { fields: { body: `must be at most ${opts.maxBodyBytes} bytes` } }, close));
      }
      try {
        body = parseJsonBody(read.bytes);
      } catch (err) {
        if (err instanceof BodyError) return sendError(res, restErrorOf(validationError({ body: err.message })));
        throw err;
      }
    }
    let input: Message;
    try {
      input = buildRequestMessage(m.binding, { segments: m.segments, query: q < 0 ? "" : url.slice(q + 1), body });
      if (route.streaming) applyLastEventId(route.binding, input, req.headers["last-event-id"]);
    } catch (err) {
      if (err instanceof FieldError) return sendError(res, restErrorOf(validationError({ [err.field]: err.message })));
      throw err;
    }
    const ac = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) ac.abort();
    };
    res.once("close", onClose);
    const header = rpcRequestHeader(req.headers, route.streaming ? "application/connect+proto" : "application/proto");
    if (route.directStream) return serveDirectStream(req, res, route.directStream, input, header, ac, opts.heartbeatMs);
    if (route.streaming && route.binding.httpBody) return serveRawStream(res, route, input, header, ac);
    if (route.streaming) return serveStream(req, res, route, input, header, ac, opts.heartbeatMs, waitMs);

    const result = route.direct ? withTrailers(await route.direct(input, header, ac.signal)) : await invokeUnary(route.handler, input, header, ac.signal);
    res.off("close", onClose);
    const extra = passThroughHeaders(result.header);
    if (!result.ok) {
      const e = restErrorOf(result.error);
      return sendError(res, { ...e, headers: { ...extra, ...e.headers } });
    }
    const status = m.binding.successStatus;
    if (status === 204) return send(res, 204, extra, undefined);
    for (const r of route.renderers) {
      if (!acceptsMedia(req.headers.accept, r.contentType)) continue;
      let bytes: Uint8Array;
      try {
        bytes = await r.render(result.message);
      } catch (err) {
        // Cannot render (e.g. too much data for a QR code): the JSON body instead.
        if (opts.log) requestLog(opts.log, req.headers[requestIdHeader]).warn({ method: r.method, contentType: r.contentType, err }, "rest render failed");
        break;
      }
      if (res.headersSent || res.destroyed) return;
      (res as ServerResponse).writeHead(status, { ...extra, "content-type": r.contentType, "content-length": bytes.byteLength });
      (res as ServerResponse).end(bytes);
      return;
    }
    const rb = m.binding.responseBody;
    if (m.binding.httpBody) {
      const body = rawBodyOf(route.binding, result.message);
      (res as ServerResponse).writeHead(status, { ...extra, "content-type": body.contentType || "application/octet-stream", "content-length": body.data.byteLength });
      (res as ServerResponse).end(body.data);
      return;
    }
    const json = rb ? writeFieldJson(rb, (result.message as unknown as Record<string, unknown>)[rb.localName]) : writeMessageJson(m.binding.method.output, result.message);
    send(res, status, { ...extra, "content-type": "application/json" }, json);
  };

  const restHandler = (req: Req, res: Res) => {
    handle(req, res).catch((err: unknown) => {
      if (opts.log) requestLog(opts.log, req.headers[requestIdHeader]).error({ method: req.method, path: req.url?.split("?")[0], err }, "rest request failed");
      if (!res.headersSent) sendError(res, envelope(500, "internal", "internal error"));
      else res.destroy();
    });
  };
  return Object.assign(restHandler, { table });
}

/** A direct call's result with its trailers and error metadata counted as headers (as on the Connect path). */
function withTrailers(r: DirectResult): UnaryResult {
  const header = new Headers(r.header);
  if (!r.ok) r.error.metadata.forEach((value, name) => header.set(name, value));
  r.trailer.forEach((value, name) => header.set(name, value));
  return r.ok ? { ok: true, message: r.message, header } : { ok: false, error: r.error, header };
}

/** Response headers a handler set (e.g. `Retry-After`), without the protocol's own; trailers count as headers. */
function passThroughHeaders(h: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  h.forEach((value, name) => {
    if (name === "content-type" || name === "content-length" || name === "content-encoding" || name.startsWith("connect-") || name.startsWith("grpc-") || name.endsWith("accept-encoding")) return;
    const key = name.startsWith("trailer-") ? name.slice(8) : name;
    if (key === "" || key.startsWith("connect-") || key.startsWith("grpc-")) return;
    out[key] = value;
  });
  return out;
}

function truncate(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

function hasBody(req: Req): boolean {
  if (req.httpVersionMajor >= 2) return !(req as Http2ServerRequest).stream.readableEnded || req.readableLength > 0;
  const cl = req.headers["content-length"];
  return (cl !== undefined && cl !== "0") || req.headers["transfer-encoding"] !== undefined;
}

function send(res: Res, status: number, headers: Record<string, string>, body: string | undefined): void {
  if (res.headersSent || res.destroyed) return;
  const h: Record<string, string | number> = { ...headers };
  if (body !== undefined) h["content-length"] = Buffer.byteLength(body);
  const r = res as ServerResponse;
  r.writeHead(status, h);
  if (body === undefined) r.end();
  else r.end(body);
}

function sendError(res: Res, e: RestError): void {
  send(res, e.status, e.headers, e.body);
}

function applyLastEventId(binding: HttpBinding, input: Message, header: string | string[] | undefined): void {
  if (typeof header !== "string" || header === "") return;
  const field = binding.method.input.fields.find((f) => f.name === "after");
  if (!field || field.oneof) return;
  const rec = input as unknown as Record<string, unknown>;
  if (rec[field.localName] !== undefined && rec[field.localName] !== "") return;
  rec[field.localName] = readText(field, header, "Last-Event-ID");
}

function acceptsSse(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes("text/event-stream");
}

/** SSE and NDJSON bytes of a stream message (undefined: nothing to write, e.g. an NDJSON heartbeat), each shared one built once. */
function restStreamEncodings(mapper: StreamItemMapper) {
  return {
    sse: sharedEncoding((m: Message) => {
      const out = mapper(m);
      if (out.kind === "heartbeat") return Buffer.from(": heartbeat\n\n");
      return Buffer.from(`${out.id !== undefined ? `id: ${out.id}\n` : ""}data: ${out.json}\n\n`);
    }),
    ndjson: sharedEncoding((m: Message) => {
      const out = mapper(m);
      if (out.kind === "heartbeat") return undefined;
      return Buffer.from(`{"result":${out.json}}\n`);
    }),
  };
}

/**
 * Serves a server stream that has a direct form: its implementation writes
 * into a sink that turns each message into SSE or NDJSON bytes (built once
 * per shared message, written to every stream). An error before the first
 * message is the REST error envelope with its status; one after it is a
 * last `event: error` (SSE) or line (NDJSON).
 */
async function serveDirectStream(req: Req, res: Res, stream: NonNullable<Route["directStream"]>, input: Message, header: Headers, ac: AbortController, heartbeatMs: number): Promise<void> {
  const sse = acceptsSse(req.headers.accept);
  const encode = sse ? stream.sse : stream.ndjson;
  // On HTTP/2 a reset stream reports itself finished before "close": abort on any close.
  const onClose = () => ac.abort();
  res.once("close", onClose);
  const r = res as ServerResponse;
  let begun = false;
  let timer: NodeJS.Timeout | undefined;
  const begin = () => {
    if (begun) return;
    begun = true;
    if (res.headersSent || res.destroyed) return;
    r.writeHead(200, {
      "content-type": sse ? "text/event-stream; charset=utf-8" : "application/x-ndjson",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
    });
    if (sse) r.write(": stream open\n\n");
    r.flushHeaders?.();
    if (sse) {
      timer = setInterval(() => {
        if (!res.destroyed && !res.writableEnded && !r.writableNeedDrain) r.write(": heartbeat\n\n");
      }, heartbeatMs);
      timer.unref();
    }
  };
  const h2 = (res as Http2ServerResponse).stream as { cork(): void; uncork(): void; writableLength: number } | undefined;
  const pending = () => (h2 ? h2.writableLength : r.writableLength);
  const sink: MessageSink = {
    send(m) {
      begin();
      if (res.destroyed || res.writableEnded) return true;
      const bytes = encode(m);
      return bytes === undefined || r.write(bytes) || pending() < sinkSoftLimitBytes;
    },
    buffered: pending,
    onDrain(cb) {
      const done = () => {
        res.off("drain", done);
        res.off("close", done);
        cb();
      };
      res.on("drain", done);
      res.on("close", done);
    },
    cork: () => (h2 ? h2.cork() : r.cork()),
    uncork: () => (h2 ? h2.uncork() : r.uncork()),
  };
  try {
    const result = await stream.call(input, header, ac.signal, sink);
    const error = result.ok ? await result.done : result.error;
    if (error && !begun) return sendError(res, restErrorOf(error));
    begin();
    if (res.destroyed || res.writableEnded) return;
    if (error) {
      const e = restErrorOf(error);
      r.write(sse ? `event: error\ndata: ${e.body}\n\n` : `${e.body}\n`);
    }
    res.end();
  } finally {
    res.off("close", onClose);
    clearInterval(timer);
    ac.abort();
  }
}

async function serveStream(req: Req, res: Res, route: Route, input: Message, header: Headers, ac: AbortController, heartbeatMs: number, waitMs: number): Promise<void> {
  const sse = acceptsSse(req.headers.accept);
  const gen = invokeServerStream(route.handler, input, header, ac.signal);
  const mapper = route.mapper!;
  let timer: NodeJS.Timeout | undefined;
  try {
    let next = gen.next();
    const waited = await Promise.race([next, new Promise<"wait">((r) => (timer = setTimeout(() => r("wait"), waitMs)))]);
    clearTimeout(timer);
    if (waited !== "wait" && !waited.done && "error" in waited.value) {
      return sendError(res, restErrorOf(waited.value.error));
    }
    if (res.destroyed) return;
    (res as ServerResponse).writeHead(200, {
      "content-type": sse ? "text/event-stream; charset=utf-8" : "application/x-ndjson",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
    });
    if (sse) (res as ServerResponse).write(": stream open\n\n");
    (res as ServerResponse).flushHeaders?.();
    if (sse) timer = setInterval(() => void write(res, ": heartbeat\n\n"), heartbeatMs);
    let r = waited === "wait" ? await next : waited;
    while (!r.done && !ac.signal.aborted) {
      const item = r.value;
      if ("error" in item) {
        const e = restErrorOf(item.error);
        await write(res, sse ? `event: error\ndata: ${e.body}\n\n` : `${e.body}\n`);
        break;
      }
      const out = mapper(item.message);
      if (out.kind === "heartbeat") {
        if (sse) await write(res, ": heartbeat\n\n");
      } else if (sse) {
        await write(res, `${out.id !== undefined ? `id: ${out.id}\n` : ""}data: ${out.json}\n\n`);
      } else {
        await write(res, `{"result":${out.json}}\n`);
      }
      next = gen.next();
      r = await next;
    }
    res.end();
  } finally {
    clearTimeout(timer);
    clearInterval(timer);
    ac.abort();
    void gen.return(undefined).catch(() => {});
  }
}

/** The `google.api.HttpBody` a response message carries (itself, or its `response_body` field). */
function rawBodyOf(binding: HttpBinding, message: Message): { contentType: string; data: Uint8Array } {
  const rb = binding.responseBody;
  const body = (rb ? (message as unknown as Record<string, unknown>)[rb.localName] : message) as { contentType: string; data: Uint8Array } | undefined;
  return body ?? { contentType: "", data: new Uint8Array(0) };
}

/**
 * A server stream of `google.api.HttpBody` as one raw HTTP body: the status
 * and Content-Type come with the first message (an error before it is the
 * usual error envelope); each message's data is written as it arrives. An
 * error after the first byte can only cut the response short.
 */
async function serveRawStream(res: Res, route: Route, input: Message, header: Headers, ac: AbortController): Promise<void> {
  const gen = invokeServerStream(route.handler, input, header, ac.signal);
  try {
    let r = await gen.next();
    if (!r.done && "error" in r.value) return sendError(res, restErrorOf(r.value.error));
    if (res.destroyed) return;
    const first = r.done || "error" in r.value ? { contentType: "", data: new Uint8Array(0) } : rawBodyOf(route.binding, r.value.message);
    (res as ServerResponse).writeHead(route.binding.successStatus, { "content-type": first.contentType || "application/octet-stream", "cache-control": "no-store" });
    while (!r.done && !ac.signal.aborted) {
      if ("error" in r.value) {
        res.destroy();
        return;
      }
      const { data } = rawBodyOf(route.binding, r.value.message);
      if (data.byteLength > 0) await write(res, data);
      r = await gen.next();
    }
    res.end();
  } finally {
    ac.abort();
    void gen.return(undefined).catch(() => {});
  }
}

function write(res: Res, chunk: string | Uint8Array): Promise<void> | void {
  if (res.destroyed || res.writableEnded) return;
  if ((res as ServerResponse).write(chunk)) return;
  return new Promise<void>((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
