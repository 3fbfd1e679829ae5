import { type DescMessage, fromBinary, fromJsonString, type JsonReadOptions } from "@bufbuild/protobuf";
import type { Compression, UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";
import { apiError } from "../errors/api-error.js";

/** Options of {@link withBinaryInputGuard}. */
export interface BinaryInputGuardOptions {
  /** The router's `readMaxBytes`: larger messages are left to connect-es's own limit error. */
  readMaxBytes: number;
  /** The router's `acceptCompression`, to look inside compressed messages. */
  acceptCompression: readonly Compression[];
  /** The router's JSON read options: when given, JSON messages are decoded here too (malformed → `validation_error`). */
  jsonOptions?: Partial<JsonReadOptions>;
}

/** How a request carries its messages, and which header names their compression. */
interface Framing {
  enveloped: boolean;
  /** Protobuf binary; JSON messages are only checked for their compressed flag. */
  binary: boolean;
  encodingHeader: string;
}

const contentTypes: [RegExp, Framing][] = [
  [/^application\/grpc(?:-web)?(?:\+proto)?\s*(?:;|$)/, { enveloped: true, binary: true, encodingHeader: "grpc-encoding" }],
  [/^application\/grpc(?:-web)?\+json\s*(?:;|$)/, { enveloped: true, binary: false, encodingHeader: "grpc-encoding" }],
  [/^application\/connect\+proto\s*(?:;|$)/, { enveloped: true, binary: true, encodingHeader: "connect-content-encoding" }],
  [/^application\/connect\+json\s*(?:;|$)/, { enveloped: true, binary: false, encodingHeader: "connect-content-encoding" }],
  [/^application\/proto\s*(?:;|$)/, { enveloped: false, binary: true, encodingHeader: "content-encoding" }],
  [/^application\/json\s*(?:;|$)/, { enveloped: false, binary: false, encodingHeader: "content-encoding" }],
];

/** The framing of gRPC, gRPC-Web and Connect requests; undefined for anything else. */
function framingOf(contentType: string | null): Framing | undefined {
  if (contentType === null) return undefined;
  const ct = contentType.toLowerCase();
  for (const [re, framing] of contentTypes) if (re.test(ct)) return framing;
  return undefined;
}

const compressedFlag = 0b1;
/** Trailer (gRPC-Web) and end-stream (Connect) frames are not messages; connect-es judges them. */
const controlFlags = 0b1000_0010;

/**
 * Wraps a router handler so that binary protobuf that does not decode is a
 * `validation_error` (gRPC/Connect `invalid_argument` with our ErrorInfo)
 * rather than connect-es's `internal` ("parse binary: …", raised before any
 * interceptor runs). Each request message is decoded once here, exactly as
 * connect-es will (same `fromBinary`, same defaults); a message that fails
 * makes the request body throw the contract error, which connect-es then
 * writes in the caller's protocol (JSON error, trailers, trailer frame). A
 * compressed message with no encoding named (binary or JSON) is a
 * `validation_error` too. Oversized, truncated or unknown-encoding input is
 * left to connect-es, whose errors for those are already 4xx.
 */
export function withBinaryInputGuard(handler: UniversalHandler, options: BinaryInputGuardOptions): UniversalHandler {
  const input = handler.method.input as DescMessage;
  const guarded = (req: UniversalServerRequest) => {
    const framing = framingOf(req.header.get("content-type"));
    const body = req.body;
    if (!framing || body === null || typeof body !== "object" || !(Symbol.asyncIterator in body)) return handler(req);
    const decode = framing.binary ? decodeBinary(input) : options.jsonOptions ? decodeJson(input, options.jsonOptions) : undefined;
    const check = messageCheck(decode, req.header.get(framing.encodingHeader), options);
    const read = options.readMaxBytes;
    const guardedBody = framing.enveloped ? checkEnvelopes(body, check, read) : checkWhole(body, check, read);
    return handler({ ...req, body: guardedBody });
  };
  return Object.assign(guarded, handler);
}

/** Throws the contract error when `bytes` (compressed when `compressed`) is not a request message. */
type MessageCheck = (bytes: Uint8Array, compressed: boolean) => Promise<void>;

/** Decodes one request message, throwing the contract error when it is not one. */
type Decode = (bytes: Uint8Array) => void;

function decodeBinary(input: DescMessage): Decode {
  return (bytes) => {
    try {
      fromBinary(input, bytes);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw apiError("validation_error", `the request message is not valid protobuf: ${reason}`);
    }
  };
}

function decodeJson(input: DescMessage, jsonOptions: Partial<JsonReadOptions>): Decode {
  const decoder = new TextDecoder();
  return (bytes) => {
    try {
      fromJsonString(input, decoder.decode(bytes), jsonOptions);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw apiError("validation_error", `the request message is not valid JSON for ${input.typeName}: ${reason}`);
    }
  };
}

function messageCheck(decode: Decode | undefined, encoding: string | null, options: BinaryInputGuardOptions): MessageCheck {
  const named = encoding !== null && encoding !== "" && encoding !== "identity";
  const compression = named ? options.acceptCompression.find((c) => c.name === encoding) : undefined;
  return async (bytes, compressed) => {
    let message = bytes;
    if (compressed) {
      if (!named) throw apiError("validation_error", "the request message is marked compressed, but the request names no encoding");
      if (!compression || !decode) return; // unknown encoding: connect-es answers unimplemented
      try {
        message = await compression.decompress(bytes, options.readMaxBytes);
      } catch {
        return; // not decompressible or too large: connect-es raises its own error
      }
    }
    decode?.(message);
  };
}

/** Connect unary: the whole body is one message (compressed when an encoding is named). */
async function* checkWhole(body: AsyncIterable<Uint8Array>, check: MessageCheck, readMaxBytes: number): AsyncGenerator<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const it = body[Symbol.asyncIterator]();
  for (;;) {
    const r = await it.next();
    if (r.done) break;
    chunks.push(r.value);
    size += r.value.byteLength;
    if (size > readMaxBytes) {
      // Too large: connect-es answers with its limit error.
      yield* chunks;
      yield* { [Symbol.asyncIterator]: () => it };
      return;
    }
  }
  const whole = chunks.length === 1 ? chunks[0]! : concat(chunks, size);
  await check(whole, false);
  if (whole.byteLength > 0) yield whole;
}

/**
 * gRPC, gRPC-Web and Connect streams: checks each enveloped message before
 * connect-es sees its last byte, and passes the bytes on unchanged.
 */
async function* checkEnvelopes(body: AsyncIterable<Uint8Array>, check: MessageCheck, readMaxBytes: number): AsyncGenerator<Uint8Array> {
  let buf: Uint8Array = new Uint8Array(0);
  const it = body[Symbol.asyncIterator]();
  for (;;) {
    const r = await it.next();
    if (r.done) break;
    buf = buf.byteLength === 0 ? r.value : concat([buf, r.value], buf.byteLength + r.value.byteLength);
    let ready = 0;
    while (buf.byteLength - ready >= 5) {
      const flags = buf[ready]!;
      const length = new DataView(buf.buffer, buf.byteOffset + ready + 1, 4).getUint32(0);
      if (length > readMaxBytes) {
        // Too large: pass everything through; connect-es answers with its limit error.
        yield buf;
        yield* { [Symbol.asyncIterator]: () => it };
        return;
      }
      if (buf.byteLength - ready < 5 + length) break;
      if ((flags & controlFlags) === 0) await check(buf.subarray(ready + 5, ready + 5 + length), (flags & compressedFlag) !== 0);
      ready += 5 + length;
    }
    if (ready === buf.byteLength) {
      yield buf;
      buf = new Uint8Array(0);
    } else if (ready > 0) {
      yield buf.subarray(0, ready);
      buf = buf.subarray(ready);
    }
  }
  // An incomplete envelope: connect-es reports it.
  if (buf.byteLength > 0) yield buf;
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}
