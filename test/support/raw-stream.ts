import http from "node:http";
import http2 from "node:http2";

/** How a raw response body is cut into frames. */
export type FrameSplit = "envelope" | "sse" | "ndjson";

/** A streaming response read as raw bytes, cut into whole frames. */
export interface RawStream {
  /** Resolves with the status and headers. */
  response: Promise<{ status: number; headers: Record<string, unknown> }>;
  /** Complete frames so far, byte for byte (an envelope with its 5-byte prefix, an SSE block with its blank line, an NDJSON line with its newline). */
  frames: Buffer[];
  /** Resolves with the first frame for which `pred` holds (rejects after `timeoutMs` or at the end of the stream). */
  waitFor(pred: (frame: Buffer) => boolean, timeoutMs?: number): Promise<Buffer>;
  close(): void;
}

/** Options of {@link openRawStream}. */
export interface RawStreamOptions {
  http2: boolean;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  split: FrameSplit;
}

/** Opens a streaming request over HTTP/1.1 or h2c and collects its body as raw frames. */
export function openRawStream(baseUrl: string, opts: RawStreamOptions): RawStream {
  let buf = Buffer.alloc(0);
  const frames: Buffer[] = [];
  const waiters = new Set<() => void>();
  let ended = false;
  const cut = () => {
    for (;;) {
      let n = -1;
      if (opts.split === "envelope") {
        if (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) n = 5 + buf.readUInt32BE(1);
      } else {
        const sep = opts.split === "sse" ? "\n\n" : "\n";
        const i = buf.indexOf(sep);
        if (i >= 0) n = i + sep.length;
      }
      if (n < 0) break;
      frames.push(Buffer.from(buf.subarray(0, n)));
      buf = buf.subarray(n);
    }
    for (const w of [...waiters]) w();
  };
  const onData = (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    cut();
  };
  const onEnd = () => {
    ended = true;
    for (const w of [...waiters]) w();
  };
  let close: () => void;
  let response: Promise<{ status: number; headers: Record<string, unknown> }>;
  if (opts.http2) {
    const session = http2.connect(baseUrl);
    session.on("error", () => {});
    const stream = session.request({ ":method": opts.method, ":path": opts.path, ...opts.headers });
    stream.on("error", () => {});
    response = new Promise((resolve) => stream.on("response", (h) => resolve({ status: Number(h[":status"]), headers: h })));
    stream.on("data", onData);
    stream.on("end", onEnd);
    stream.on("close", onEnd);
    stream.end(opts.body);
    close = () => {
      stream.close();
      session.close();
    };
  } else {
    const req = http.request(`${baseUrl}${opts.path}`, { method: opts.method, headers: opts.headers, agent: false });
    req.on("error", () => onEnd());
    response = new Promise((resolve) =>
      req.on("response", (res) => {
        resolve({ status: res.statusCode!, headers: res.headers });
        res.on("data", onData);
        res.on("end", onEnd);
        res.on("error", onEnd);
      }),
    );
    req.end(opts.body);
    close = () => req.destroy();
  }
  return {
    response,
    frames,
    waitFor(pred, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching frame after ${timeoutMs} ms (${frames.length} frames)`));
        }, timeoutMs);
        const check = () => {
          const f = frames.find(pred);
          if (f || ended) {
            waiters.delete(check);
            clearTimeout(timer);
            if (f) resolve(f);
            else reject(new Error(`stream ended without a matching frame (${frames.length} frames)`));
          }
        };
        waiters.add(check);
        check();
      });
    },
    close: () => close(),
  };
}

/** A request body of one enveloped message. */
export function envelopeOf(data: Buffer | string, flags = 0): Buffer {
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([head, bytes]);
}
