import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { type DescMessage, type DescMethod, fromBinary, fromJsonString, type Message, toBinary, toJsonString } from "@bufbuild/protobuf";
import { Code, ConnectError, type ContextValues } from "@connectrpc/connect";
import { getJsonOptions, readAllBytes } from "@connectrpc/connect/protocol";
import * as connect from "@connectrpc/connect/protocol-connect";
import * as grpc from "@connectrpc/connect/protocol-grpc";
import * as grpcWeb from "@connectrpc/connect/protocol-grpc-web";
import type { DirectStream } from "../rest/direct-stream.js";
import { apiError } from "../errors/api-error.js";
import type { FastPath } from "./connect-unary-fast-path.js";
import { type MessageSink, type OutgoingMessage, sharedEncoding, sinkSoftLimitBytes } from "./message-sink.js";
import { toNodeHeaders, toWebHeaders } from "./node-headers.js";

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

/** Options of {@link createStreamFastPath}. */
export interface StreamFastPathOptions {
  /** Server streams with a direct form, callable through the router's interceptors. */
  streams: ReadonlyMap<DescMethod, DirectStream>;
  readMaxBytes: number;
  /** The router's JSON options. */
  jsonOptions: Parameters<typeof getJsonOptions>[0];
  contextValues?: ((req: Req) => ContextValues) | undefined;
  /** Reports a failure of the fast path itself (never a contract error), with the request it served. */
  onError(err: unknown, req: Req): void;
}

type Protocol = "connect" | "grpc" | "grpc-web";

/** Each shared message encoded once per method and format: a data envelope with binary or JSON protobuf. */
interface Encoders {
  binary: (m: OutgoingMessage) => Uint8Array;
  json: (m: OutgoingMessage) => Uint8Array;
}

const connectEndFlag = connect.endStreamFlag;
const grpcWebTrailerFlag = grpcWeb.trailerFlag;

/**
 * Server streams with a direct form (WatchEvents) over Connect (HTTP/1.1 and
 * HTTP/2), gRPC (HTTP/2) and gRPC-Web, in the common form — POST, one
 * uncompressed request message, no timeout header — served without
 * connect-es's protocol handlers: the implementation writes into a sink that
 * encodes each shared message once per format (binary or JSON envelope; the
 * data envelope is the same bytes in all three protocols) and writes those
 * bytes to every stream. Responses are not compressed (identity is always
 * allowed), so the bytes stay shared. Errors before the first message and at
 * the end are written as each protocol does (Connect end-stream message,
 * gRPC trailers, gRPC-Web trailer frame). Everything else goes to connect-es.
 */
export function createStreamFastPath(opts: StreamFastPathOptions): FastPath {
  const json = getJsonOptions(opts.jsonOptions);
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const encoders = new Map<DescMethod, Encoders>();
  const encodersOf = (method: DescMethod): Encoders => {
    let e = encoders.get(method);
    if (!e) {
      const out = method.output as DescMessage;
      e = {
        binary: sharedEncoding((m: Message) => envelope(0, toBinary(out, m))),
        json: sharedEncoding((m: Message) => envelope(0, encoder.encode(toJsonString(out, m, json)))),
      };
      encoders.set(method, e);
    }
    return e;
  };

  return (req, res, method) => {
    const direct = opts.streams.get(method);
    if (!direct || req.method !== "POST") return false;
    const ct = req.headers["content-type"] ?? null;
    let protocol: Protocol;
    let binary: boolean;
    const c = connect.parseContentType(ct);
    if (c?.stream) {
      if (req.headers["connect-timeout-ms"] !== undefined || !identity(req.headers["connect-content-encoding"])) return false;
      protocol = "connect";
      binary = c.binary;
    } else {
      const w = grpcWeb.parseContentType(ct);
      const g = w ? undefined : grpc.parseContentType(ct);
      if (!w && !g) return false;
      if (w?.text) return false;
      if (g && req.httpVersionMajor !== 2) return false;
      if (req.headers["grpc-timeout"] !== undefined || !identity(req.headers["grpc-encoding"])) return false;
      protocol = w ? "grpc-web" : "grpc";
      binary = (w ?? g)!.binary;
    }
    serve(req, res, method, direct, protocol, binary).catch((err: unknown) => {
      opts.onError(err, req);
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
    return true;
  };

  async function serve(req: Req, res: Res, method: DescMethod, direct: DirectStream, protocol: Protocol, binary: boolean): Promise<void> {
    const header = toWebHeaders(req.headers);
    const ac = new AbortController();
    // On HTTP/2 a reset stream reports itself finished before "close": abort on any close.
    const onClose = () => ac.abort();
    res.once("close", onClose);
    const r = res as ServerResponse;
    const contentType =
      protocol === "connect"
        ? binary
          ? connect.contentTypeStreamProto
          : connect.contentTypeStreamJson
        : protocol === "grpc"
          ? binary
            ? grpc.contentTypeProto
            : grpc.contentTypeJson
          : binary
            ? grpcWeb.contentTypeProto
            : grpcWeb.contentTypeJson;
    let responseHeader = new Headers();
    let begun = false;
    const begin = () => {
      if (begun) return;
      begun = true;
      if (res.headersSent || res.destroyed) return;
      responseHeader.set("content-type", contentType);
      r.writeHead(200, toNodeHeaders(responseHeader));
    };
    const encode = binary ? encodersOf(method).binary : encodersOf(method).json;
    const stream = (res as Http2ServerResponse).stream as { cork(): void; uncork(): void; writableLength: number } | undefined;
    const pending = () => (stream ? stream.writableLength : r.writableLength);
    const sink: MessageSink = {
      send(m) {
        begin();
        if (res.destroyed || res.writableEnded) return true;
        return r.write(encode(m)) || pending() < sinkSoftLimitBytes;
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
      cork() {
        if (stream) stream.cork();
        else r.cork();
      },
      uncork() {
        if (stream) stream.uncork();
        else r.uncork();
      },
    };

    let error: ConnectError | undefined;
    let trailer = new Headers();
    try {
      const body = await readAllBytes(req as AsyncIterable<Uint8Array>, opts.readMaxBytes + 5, header.get("content-length"));
      const data = oneMessage(body, opts.readMaxBytes);
      let input: Message;
      try {
        input = binary ? fromBinary(method.input as DescMessage, data) : fromJsonString(method.input as DescMessage, decoder.decode(data), json);
      } catch (err) {
        if (binary) throw apiError("validation_error", `the request message is not valid protobuf: ${err instanceof Error ? err.message : String(err)}`);
        throw ConnectError.from(err, Code.InvalidArgument);
      }
      const result = await direct(input, header, ac.signal, sink, opts.contextValues?.(req));
      trailer = result.trailer;
      if (!result.ok) error = result.error;
      else {
        if (!begun) responseHeader = result.header;
        error = await result.done;
      }
    } catch (err) {
      error = err instanceof ConnectError ? err : ConnectError.from(err, Code.Internal);
    }
    res.off("close", onClose);
    begin();
    if (res.destroyed || res.writableEnded) return;
    if (protocol === "connect") {
      const end = connect.endStreamToJson(trailer, error, json);
      r.end(envelope(connectEndFlag, encoder.encode(JSON.stringify(end))));
    } else if (protocol === "grpc") {
      (res as Http2ServerResponse).addTrailers(toNodeHeaders(grpc.setTrailerStatus(trailer, error)));
      r.end();
    } else {
      r.end(envelope(grpcWebTrailerFlag, grpcWeb.trailerSerialize(grpc.setTrailerStatus(trailer, error))));
    }
  }
}

function identity(encoding: string | string[] | undefined): boolean {
  return encoding === undefined || encoding === "identity";
}

/** The single enveloped message of a server-stream request, with connect-es's errors for anything else. */
function oneMessage(body: Uint8Array, readMaxBytes: number): Uint8Array {
  if (body.byteLength < 5) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  const length = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(1);
  if (length > readMaxBytes) throw new ConnectError(`message size ${length} is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted);
  if (body.byteLength < 5 + length) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  if (body.byteLength > 5 + length) throw new ConnectError("protocol error: received extra input message for server-streaming method", Code.InvalidArgument);
  if ((body[0]! & 0b1) !== 0) throw apiError("validation_error", "the request message is marked compressed, but the request names no encoding");
  return body.subarray(5, 5 + length);
}

/** A length-prefixed frame: flags, big-endian length, data (the same in Connect, gRPC and gRPC-Web). */
export function envelope(flags: number, data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + data.byteLength);
  out[0] = flags;
  out.writeUInt32BE(data.byteLength, 1);
  out.set(data, 5);
  return out;
}
