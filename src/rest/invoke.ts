import { type DescMessage, fromBinary, type Message, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import { endStreamFlag, endStreamFromJson, errorFromJsonBytes } from "@connectrpc/connect/protocol-connect";

/** The result of an in-process unary call. */
export type UnaryResult =
  | { ok: true; message: Message; header: Headers }
  | { ok: false; error: ConnectError; header: Headers };

/** Request headers that belong to the REST exchange, not to the RPC. */
const hopHeaders = new Set([
  "content-type",
  "content-length",
  "content-encoding",
  "accept-encoding",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "te",
  "upgrade",
  "expect",
]);

/** Copies the caller's headers for the RPC (auth included), dropping body and protocol headers. */
export function rpcRequestHeader(raw: Record<string, string | string[] | undefined>, contentType: string): Headers {
  const h = new Headers();
  for (const name in raw) {
    if (name.charCodeAt(0) === 58 /* ":" */ || hopHeaders.has(name) || name.startsWith("connect-") || name.startsWith("grpc-")) continue;
    const v = raw[name];
    if (v === undefined) continue;
    if (typeof v === "string") h.set(name, v);
    else for (const x of v) h.append(name, x);
  }
  h.set("content-type", contentType);
  return h;
}

function requestUrl(handler: UniversalHandler): string {
  return `http://rest.invalid${handler.requestPath}`;
}

async function readAll(body: AsyncIterable<Uint8Array> | undefined): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const c of body) {
    chunks.push(c);
    n += c.byteLength;
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

/**
 * Calls a unary RPC through its router handler in-process, as a Connect
 * request with a binary body: the same interceptors, auth and error mapping
 * as every other protocol.
 */
export async function invokeUnary(handler: UniversalHandler, input: Message, header: Headers, signal: AbortSignal): Promise<UnaryResult> {
  const bytes = toBinary(handler.method.input as DescMessage, input);
  const res = await handler({
    httpVersion: "1.1",
    url: requestUrl(handler),
    method: "POST",
    header,
    // The Connect unary handler takes an already-read body as-is.
    body: bytes as unknown as AsyncIterable<Uint8Array>,
    signal,
  });
  const body = await readAll(res.body);
  const resHeader = res.header ?? new Headers();
  if (res.status === 200) {
    return { ok: true, message: fromBinary(handler.method.output as DescMessage, body), header: resHeader };
  }
  const fallback = new ConnectError(`RPC failed with HTTP ${res.status}`, Code.Internal);
  return { ok: false, error: errorFromJsonBytes(body, undefined, fallback), header: resHeader };
}

/** One item of a server stream. */
export type StreamItem = { message: Message } | { error: ConnectError };

/**
 * Calls a server-streaming RPC in-process as a Connect streaming request and
 * yields each response message, then an error item if the stream failed.
 * Returning early (client gone) ends the call.
 */
export async function* invokeServerStream(handler: UniversalHandler, input: Message, header: Headers, signal: AbortSignal): AsyncGenerator<StreamItem> {
  const data = toBinary(handler.method.input as DescMessage, input);
  const env = new Uint8Array(5 + data.byteLength);
  new DataView(env.buffer).setUint32(1, data.byteLength);
  env.set(data, 5);
  const res = await handler({
    httpVersion: "1.1",
    url: requestUrl(handler),
    method: "POST",
    header,
    body: (async function* () {
      yield env;
    })(),
    signal,
  });
  if (res.status !== 200 || !res.body) {
    yield { error: new ConnectError(`RPC failed with HTTP ${res.status}`, Code.Internal) };
    return;
  }
  let buf: Uint8Array = new Uint8Array(0);
  const it = res.body[Symbol.asyncIterator]();
  try {
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      buf = buf.byteLength === 0 ? r.value : concat(buf, r.value);
      while (buf.byteLength >= 5) {
        const len = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(1);
        if (buf.byteLength < 5 + len) break;
        const flags = buf[0]!;
        const payload = buf.subarray(5, 5 + len);
        buf = buf.subarray(5 + len);
        if ((flags & endStreamFlag) === endStreamFlag) {
          const end = endStreamFromJson(payload);
          if (end.error) yield { error: end.error };
          return;
        }
        yield { message: fromBinary(handler.method.output as DescMessage, payload) };
      }
    }
  } finally {
    await it.return?.();
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}
