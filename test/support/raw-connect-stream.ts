import http2 from "node:http2";

/** A Connect-protocol server stream (JSON) on a raw HTTP/2 stream whose reading can be paused. */
export interface RawConnectStream {
  /** Stops reading from the socket (HTTP/2 flow control then stalls the server). */
  pause(): void;
  /** While paused: takes `bytes` of what the client holds, so the server may send that much more (whatever Node's buffer size). */
  drip(bytes: number): void;
  /** The messages read so far. */
  readonly messages: readonly Record<string, unknown>[];
  /** Reads on until `count` event messages have come, or rejects when the stream ends first (naming its error) or after `timeoutMs`. */
  readEvents(count: number, timeoutMs: number): Promise<Record<string, unknown>[]>;
  /** Reads everything until the end of the stream: the messages and the end-of-stream error, if any. */
  readAll(): Promise<{ messages: Record<string, unknown>[]; error: { code: string; message: string } | undefined }>;
  /** Resolves with the first message. */
  first: Promise<Record<string, unknown>>;
  close(): void;
}

/**
 * Opens `path` with a JSON request using the Connect streaming protocol over
 * h2c; `windowBytes` sets the client's HTTP/2 stream window (default 64 KiB).
 */
export function openRawConnectStream(baseUrl: string, path: string, token: string, request: unknown, windowBytes?: number): RawConnectStream {
  const session = http2.connect(baseUrl, windowBytes === undefined ? {} : { settings: { initialWindowSize: windowBytes } });
  session.on("error", () => {});
  const stream = session.request({
    ":method": "POST",
    ":path": path,
    "content-type": "application/connect+json",
    "connect-protocol-version": "1",
    authorization: `Bearer ${token}`,
  });
  const body = Buffer.from(JSON.stringify(request));
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  stream.end(Buffer.concat([head, body]));

  let buf = Buffer.alloc(0);
  const messages: Record<string, unknown>[] = [];
  let error: { code: string; message: string } | undefined;
  let resolveFirst!: (m: Record<string, unknown>) => void;
  const first = new Promise<Record<string, unknown>>((r) => (resolveFirst = r));
  const parse = () => {
    while (buf.length >= 5) {
      const flags = buf[0]!;
      const len = buf.readUInt32BE(1);
      if (buf.length < 5 + len) return;
      const json = JSON.parse(buf.subarray(5, 5 + len).toString()) as Record<string, unknown>;
      buf = buf.subarray(5 + len);
      if (flags & 0x02) error = json.error as typeof error;
      else {
        messages.push(json);
        if (messages.length === 1) resolveFirst(json);
      }
    }
  };
  const events = () => messages.filter((m) => m.event);
  let onMessages: (() => void) | undefined;
  stream.on("data", (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    parse();
    onMessages?.();
  });
  const ended = new Promise<void>((r) => {
    stream.on("end", () => r());
    stream.on("close", () => r());
    stream.on("error", () => r());
  });
  return {
    first,
    messages,
    pause: () => stream.pause(),
    drip: (bytes) => void stream.read(bytes),
    readEvents(count, timeoutMs) {
      stream.resume();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${events().length} of ${count} events after ${timeoutMs} ms`)), timeoutMs);
        const check = () => {
          if (events().length >= count) {
            clearTimeout(timer);
            onMessages = undefined;
            resolve(events());
          }
        };
        onMessages = check;
        check();
        void ended.then(() => {
          clearTimeout(timer);
          reject(new Error(`the stream ended after ${events().length} of ${count} events: ${JSON.stringify(error)}`));
        });
      });
    },
    async readAll() {
      stream.resume();
      await ended;
      return { messages, error };
    },
    close() {
      stream.close();
      session.close();
    },
  };
}
