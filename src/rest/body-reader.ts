import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";

/** The outcome of reading a request body under a size cap. */
export type BodyRead = { ok: true; bytes: Buffer } | { ok: false; reason: "too-large" | "aborted" | "timeout" };

/**
 * Reads the whole request body, stopping at `maxBytes` (checked against
 * `Content-Length` first, then while reading) or when no byte arrives for
 * `idleMs` (a slow sender).
 */
export function readBody(req: IncomingMessage | Http2ServerRequest, maxBytes: number, idleMs = 30_000): Promise<BodyRead> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > maxBytes) return Promise.resolve({ ok: false, reason: "too-large" });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let n = 0;
    let done = false;
    const timer = setTimeout(() => finish({ ok: false, reason: "timeout" }), idleMs);
    const finish = (r: BodyRead) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
      resolve(r);
    };
    const onData = (c: Buffer) => {
      timer.refresh();
      n += c.byteLength;
      if (n > maxBytes) {
        req.pause();
        finish({ ok: false, reason: "too-large" });
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => finish({ ok: true, bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, n) });
    const onError = () => finish({ ok: false, reason: "aborted" });
    const onClose = () => finish(req.readableEnded ? { ok: true, bytes: Buffer.concat(chunks, n) } : { ok: false, reason: "aborted" });
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The parsed JSON of a body: undefined for an empty one; throws a message on bad UTF-8 or JSON. */
export function parseJsonBody(bytes: Buffer): unknown {
  if (bytes.byteLength === 0) return undefined;
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new BodyError("is not valid UTF-8");
  }
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BodyError(`is not valid JSON${err instanceof SyntaxError ? `: ${err.message}` : ""}`);
  }
}

/** A body that cannot be read as JSON. */
export class BodyError extends Error {
  override name = "BodyError";
}
