import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { type DescMessage, type DescMethod, fromBinary, fromJsonString, type Message, toBinary, toJsonString } from "@bufbuild/protobuf";
import { Code, ConnectError, type ContextValues } from "@connectrpc/connect";
import { type Compression, compressionNegotiate, getJsonOptions, readAllBytes } from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  contentTypeUnaryJson,
  contentTypeUnaryProto,
  errorToJsonBytes,
  parseContentType,
  trailerMux,
} from "@connectrpc/connect/protocol-connect";
import type { DirectUnary } from "../rest/direct-unary.js";
import { apiError } from "../errors/api-error.js";
import { toNodeHeaders, toWebHeaders } from "./node-headers.js";

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

/** Options of {@link createConnectUnaryFastPath}: the router's settings the protocol path would use. */
export interface UnaryFastPathOptions {
  /** Unary methods callable in-process through the router's interceptors. */
  direct: ReadonlyMap<DescMethod, DirectUnary>;
  readMaxBytes: number;
  acceptCompression: readonly Compression[];
  /** Responses at least this large are compressed when the caller accepts it. */
  compressMinBytes: number;
  /** The router's JSON options (`ignoreUnknownFields` etc.). */
  jsonOptions: Parameters<typeof getJsonOptions>[0];
  contextValues?: ((req: Req) => ContextValues) | undefined;
  /** Reports a failure of the fast path itself (never a contract error), with the request it served. */
  onError(err: unknown, req: Req): void;
}

/** Serves a request and says so, or returns false to leave it to connect-es. */
export type FastPath = (req: Req, res: Res, method: DescMethod) => boolean;

/** Both encodings of the unary Connect protocol. */
interface Codec {
  contentType: string;
  parse(desc: DescMessage, bytes: Uint8Array): Message;
  serialize(desc: DescMessage, message: Message): Uint8Array;
}

/**
 * The Connect unary protocol for the common case — POST, `application/json`
 * or `application/proto`, no `connect-timeout-ms` — served without
 * connect-es's protocol handler: the body is read and decoded here, the call
 * goes through the router's interceptors to the same implementation
 * ({@link DirectUnary}), and the answer is written as connect-es writes it
 * (status table, JSON error body with details, `trailer-` headers,
 * compression negotiated with connect-es's own helpers). Everything else
 * (GET, streams, timeouts, unregistered methods) is left to connect-es.
 */
export function createConnectUnaryFastPath(opts: UnaryFastPathOptions): FastPath {
  const json = getJsonOptions(opts.jsonOptions);
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  const codecs: Record<"binary" | "json", Codec> = {
    binary: {
      contentType: contentTypeUnaryProto,
      parse(desc, bytes) {
        try {
          return fromBinary(desc, bytes);
        } catch (err) {
          throw apiError("validation_error", `the request message is not valid protobuf: ${err instanceof Error ? err.message : String(err)}`);
        }
      },
      serialize: (desc, message) => toBinary(desc, message),
    },
    json: {
      contentType: contentTypeUnaryJson,
      parse(desc, bytes) {
        try {
          return fromJsonString(desc, decoder.decode(bytes), json);
        } catch (err) {
          // The contract's error (ErrorInfo reason validation_error), as the handler path answers.
          throw apiError("validation_error", `the request message is not valid JSON for ${desc.typeName}: ${err instanceof Error ? err.message : String(err)}`);
        }
      },
      serialize: (desc, message) => encoder.encode(toJsonString(desc, message, json)),
    },
  };

  return (req, res, method) => {
    if (req.method !== "POST" || req.headers["connect-timeout-ms"] !== undefined) return false;
    const direct = opts.direct.get(method);
    if (!direct) return false;
    const type = parseContentType(req.headers["content-type"] ?? null);
    if (!type || type.stream) return false;
    const codec = type.binary ? codecs.binary : codecs.json;
    serve(req, res, method, direct, codec).catch((err: unknown) => {
      opts.onError(err, req);
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
    return true;
  };

  async function serve(req: Req, res: Res, method: DescMethod, direct: DirectUnary, codec: Codec): Promise<void> {
    const header = toWebHeaders(req.headers);
    const compression = compressionNegotiate([...opts.acceptCompression], header.get("content-encoding"), header.get("accept-encoding"), "Accept-Encoding");
    const ac = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) ac.abort();
    };
    res.once("close", onClose);
    let status = 200;
    let contentType = codec.contentType;
    let body: Uint8Array;
    let responseHeader: Headers;
    try {
      if (compression.error) throw compression.error;
      let bytes = await readAllBytes(req as AsyncIterable<Uint8Array>, opts.readMaxBytes, header.get("content-length"));
      if (compression.request) bytes = await compression.request.decompress(bytes, opts.readMaxBytes);
      const input = codec.parse(method.input as DescMessage, bytes);
      const result = await direct(input, header, ac.signal, opts.contextValues?.(req));
      if (!result.ok) result.error.metadata.forEach((value, key) => result.header.set(key, value));
      responseHeader = trailerMux(result.header, result.trailer);
      if (result.ok) {
        body = codec.serialize(method.output as DescMessage, result.message);
      } else {
        status = codeToHttpStatus(result.error.code);
        contentType = contentTypeUnaryJson;
        body = errorToJsonBytes(result.error, json);
      }
    } catch (err) {
      const error = err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err);
      responseHeader = new Headers();
      error.metadata.forEach((value, key) => responseHeader.set(key, value));
      status = codeToHttpStatus(error.code);
      contentType = contentTypeUnaryJson;
      body = errorToJsonBytes(error, json);
    }
    res.off("close", onClose);
    if (res.headersSent || res.destroyed) return;
    responseHeader.set("content-type", contentType);
    if (compression.response && body.byteLength >= opts.compressMinBytes) {
      body = await compression.response.compress(body);
      responseHeader.set("content-encoding", compression.response.name);
    }
    responseHeader.set("content-length", String(body.byteLength));
    if (res.headersSent || res.destroyed) return;
    (res as ServerResponse).writeHead(status, toNodeHeaders(responseHeader));
    (res as ServerResponse).end(body);
  }
}
