import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { type DescMessage, type DescMethod, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { compressionNegotiate, readAllBytes } from "@connectrpc/connect/protocol";
import { contentTypeProto, parseContentType, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import type { DirectUnary } from "../rest/direct-unary.js";
import { apiError } from "../errors/api-error.js";
import type { FastPath, UnaryFastPathOptions } from "./connect-unary-fast-path.js";
import { toNodeHeaders, toWebHeaders } from "./node-headers.js";

const compressedFlag = 0b1;

/**
 * gRPC unary calls in the common case — HTTP/2, binary protobuf, no
 * `grpc-timeout` — served without connect-es's protocol handler: the one
 * enveloped request message is read and decoded here, the call goes through
 * the router's interceptors to the same implementation ({@link DirectUnary}),
 * and the answer is written as connect-es writes it (HEADERS, one DATA
 * envelope, trailers with `grpc-status`, `grpc-message` and
 * `grpc-status-details-bin`; compression negotiated with connect-es's
 * helpers). Undecodable protobuf and a compressed flag without an encoding
 * are `validation_error`, as on the protocol path. Everything else is left
 * to connect-es.
 */
export function createGrpcUnaryFastPath(opts: UnaryFastPathOptions): FastPath {
  return (req, res, method) => {
    if (req.httpVersionMajor !== 2 || req.method !== "POST" || req.headers["grpc-timeout"] !== undefined) return false;
    const direct = opts.direct.get(method);
    if (!direct) return false;
    const type = parseContentType(req.headers["content-type"] ?? null);
    if (!type?.binary) return false;
    serve(req as Http2ServerRequest, res as Http2ServerResponse, method, direct).catch((err: unknown) => {
      opts.onError(err, req);
      res.destroy();
    });
    return true;
  };

  async function serve(req: Http2ServerRequest, res: Http2ServerResponse, method: DescMethod, direct: DirectUnary): Promise<void> {
    const header = toWebHeaders(req.headers);
    const encoding = header.get("grpc-encoding");
    const compression = compressionNegotiate([...opts.acceptCompression], encoding, header.get("grpc-accept-encoding"), "Grpc-Accept-Encoding");
    const ac = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) ac.abort();
    };
    res.once("close", onClose);
    const responseHeader = new Headers({ "content-type": contentTypeProto });
    if (compression.response) responseHeader.set("grpc-encoding", compression.response.name);
    let trailer = new Headers();
    let payload: Uint8Array | undefined;
    try {
      if (compression.error) throw compression.error;
      const body = await readAllBytes(req as AsyncIterable<Uint8Array>, opts.readMaxBytes + 5, null);
      let message = oneMessage(body, opts.readMaxBytes);
      if (message.compressed) {
        if (!compression.request) throw apiError("validation_error", "the request message is marked compressed, but the request names no encoding");
        message = { compressed: false, data: await compression.request.decompress(message.data, opts.readMaxBytes) };
      }
      let input;
      try {
        input = fromBinary(method.input as DescMessage, message.data);
      } catch (err) {
        throw apiError("validation_error", `the request message is not valid protobuf: ${err instanceof Error ? err.message : String(err)}`);
      }
      const result = await direct(input, header, ac.signal, opts.contextValues?.(req));
      result.header.forEach((value, name) => responseHeader.set(name, value));
      trailer = result.trailer;
      if (result.ok) {
        payload = toBinary(method.output as DescMessage, result.message);
        setTrailerStatus(trailer, undefined);
      } else {
        setTrailerStatus(trailer, result.error);
      }
    } catch (err) {
      const error = err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err);
      setTrailerStatus(trailer, error);
    }
    res.off("close", onClose);
    if (res.headersSent || res.destroyed) return;
    let flags = 0;
    if (payload && compression.response && payload.byteLength >= opts.compressMinBytes) {
      payload = await compression.response.compress(payload);
      flags = compressedFlag;
    }
    if (res.headersSent || res.destroyed) return;
    res.writeHead(200, toNodeHeaders(responseHeader));
    if (payload) res.write(envelope(flags, payload));
    res.addTrailers(toNodeHeaders(trailer));
    res.end();
  }
}

/** The single enveloped message of a unary request, with connect-es's errors for anything else. */
function oneMessage(body: Uint8Array, readMaxBytes: number): { compressed: boolean; data: Uint8Array } {
  if (body.byteLength === 0) throw new ConnectError("protocol error: missing input message for unary method", Code.Unimplemented);
  if (body.byteLength < 5) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  const length = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(1);
  if (length > readMaxBytes) throw new ConnectError(`message size ${length} is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted);
  if (body.byteLength < 5 + length) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  if (body.byteLength > 5 + length) throw new ConnectError("protocol error: received extra input message for unary method", Code.Unimplemented);
  return { compressed: (body[0]! & compressedFlag) !== 0, data: body.subarray(5, 5 + length) };
}

function envelope(flags: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + data.byteLength);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, data.byteLength);
  out.set(data, 5);
  return out;
}
