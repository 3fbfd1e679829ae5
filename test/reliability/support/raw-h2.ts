import http2 from "node:http2";
import net from "node:net";

/** An HTTP/2 answer: status, headers, trailers and body. */
export interface H2Answer {
  status: number;
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  body: Buffer;
}

/** Sends one request on an h2c session; rejects after `timeoutMs` (a hung stream is a failure too). */
export function h2Request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body: Buffer | undefined, timeoutMs = 10_000): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ...headers });
    const chunks: Buffer[] = [];
    let status = 0;
    let resHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const timer = setTimeout(() => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      reject(new Error(`no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    stream.on("response", (h) => {
      resHeaders = h;
      status = Number(h[":status"]);
    });
    stream.on("trailers", (t) => (trailers = t));
    stream.on("data", (d: Buffer) => chunks.push(d));
    stream.on("close", () => {
      clearTimeout(timer);
      resolve({ status, headers: resHeaders, trailers, body: Buffer.concat(chunks) });
    });
    stream.on("error", () => {});
    stream.end(body);
  });
}

/** Opens an h2c session (prior knowledge, from `localAddress` when given) that ignores session errors. */
export function h2Connect(baseUrl: string, localAddress?: string): http2.ClientHttp2Session {
  const s = http2.connect(baseUrl, (localAddress ? { localAddress } : {}) as http2.ClientSessionOptions);
  s.on("error", () => {});
  return s;
}

/** Writes `bytes` on a fresh TCP connection, then closes it after a short pause (or when the server does). */
export function rawSend(baseUrl: string, bytes: Buffer, lingerMs = 200): Promise<void> {
  const u = new URL(baseUrl);
  return new Promise((resolve) => {
    const socket = net.connect(Number(u.port), u.hostname, () => {
      socket.write(bytes);
      setTimeout(() => socket.destroy(), lingerMs);
    });
    socket.on("data", () => {});
    socket.on("error", () => {});
    socket.on("close", () => resolve());
  });
}

/** An HTTP/2 frame: 3-byte length, type, flags, 4-byte stream id, payload (`declaredLength` may lie). */
export function h2Frame(type: number, flags: number, streamId: number, payload: Buffer, declaredLength = payload.length): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(declaredLength, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

/** The client connection preface plus an empty SETTINGS frame. */
export const h2Preface = Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), h2Frame(4, 0, 0, Buffer.alloc(0))]);
