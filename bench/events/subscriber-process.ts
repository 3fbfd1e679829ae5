import http from "node:http";
import http2 from "node:http2";
import { createHistogram, type Histogram } from "./latency-histogram.js";

/**
 * Subscribers of `npm run bench:events`, in a process apart from the one
 * measured. Opens SUB_COUNT streams of SUB_PROTOCOL (`sse`, `connect`:
 * Connect binary over HTTP/1.1, one connection each; `grpc`: HTTP/2, 100
 * streams per connection) to SUB_URL + SUB_PATH, and for every event reads
 * the sequence number and send time the appender put in its label
 * (`s:<seq>:t:<epoch ms>`): latency = receipt − send, per-stream bitmaps
 * count duplicates. Talks to the orchestrator over IPC: sends
 * `{type:"open"}` once every stream has its headers, answers `stats`.
 */
const protocol = process.env.SUB_PROTOCOL as "sse" | "connect" | "grpc";
const url = process.env.SUB_URL!;
const path = process.env.SUB_PATH!;
const key = process.env.SUB_KEY ?? "";
const count = Number(process.env.SUB_COUNT);
const maxSeq = Number(process.env.SUB_MAX_SEQ ?? 1_000_000);
const now = () => performance.timeOrigin + performance.now();

const hist: Histogram = createHistogram();
let received = 0;
let duplicates = 0;
let lastReceipt = 0;
let opened = 0;
let failed = 0;
/** Streams the server ended (or reset) while the bench still read them. */
let ended = 0;
let exiting = false;
const onEnded = () => {
  if (!exiting) ended++;
};
const label = /s:(\d+):t:([\d.]+)/;

function onEvent(seen: Uint8Array, text: string, at: number) {
  const m = label.exec(text);
  if (!m) return;
  const seq = Number(m[1]);
  received++;
  lastReceipt = at;
  if (seq < maxSeq) {
    if (seen[seq]) duplicates++;
    seen[seq] = 1;
  }
  hist.add(at - Number(m[2]));
}

function markOpen() {
  if (++opened + failed === count) process.send!({ type: "open", opened, failed });
}
function markFailed(err: unknown) {
  failed++;
  if (failed <= 3) process.stderr.write(`stream failed: ${String(err)}\n`);
  if (opened + failed === count) process.send!({ type: "open", opened, failed });
}

/** Cuts enveloped frames from a byte stream. */
function envelopeReader(seen: Uint8Array) {
  let buf: Buffer = Buffer.alloc(0);
  return (d: Buffer) => {
    const at = now();
    buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
    while (buf.length >= 5) {
      const len = buf.readUInt32BE(1);
      if (buf.length < 5 + len) break;
      if (buf[0] === 0 && len > 0) onEvent(seen, buf.toString("latin1", 5, 5 + len), at);
      buf = buf.subarray(5 + len);
    }
  };
}

function sseReader(seen: Uint8Array) {
  let text = "";
  return (d: Buffer) => {
    const at = now();
    text += d.toString("latin1");
    let i: number;
    while ((i = text.indexOf("\n\n")) >= 0) {
      const block = text.slice(0, i);
      text = text.slice(i + 2);
      if (block.charCodeAt(0) !== 58 /* : */) onEvent(seen, block, at);
    }
  };
}

const auth: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
const emptyEnvelope = Buffer.alloc(5);

function openH1(i: number, attempt = 1): void {
  const seen = new Uint8Array(Math.min(maxSeq, 1_000_000));
  const headers = protocol === "sse" ? { ...auth, accept: "text/event-stream" } : { ...auth, "content-type": "application/connect+proto", "connect-protocol-version": "1", "content-length": "5" };
  const req = http.request(`${url}${path}`, { method: protocol === "sse" ? "GET" : "POST", headers, agent: false }, (res) => {
    if (res.statusCode !== 200) return markFailed(new Error(`status ${res.statusCode}`));
    markOpen();
    res.on("data", protocol === "sse" ? sseReader(seen) : envelopeReader(seen));
    res.on("error", () => {});
    res.once("close", onEnded);
  });
  let open = false;
  req.on("response", () => (open = true));
  req.on("error", (err) => {
    if (open) return;
    // A refused or reset connection (a full accept queue) is retried, as a client would.
    if (attempt < 3) setTimeout(() => openH1(i, attempt + 1), 200 * attempt);
    else markFailed(err);
  });
  req.end(protocol === "sse" ? undefined : emptyEnvelope);
  void i;
}

const sessions: http2.ClientHttp2Session[] = [];
function openGrpc(i: number) {
  if (i % 100 === 0) {
    const s = http2.connect(url);
    s.on("error", () => {});
    sessions.push(s);
  }
  const seen = new Uint8Array(Math.min(maxSeq, 1_000_000));
  const stream = sessions[sessions.length - 1]!.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...auth });
  stream.on("response", (h) => (h[":status"] === 200 ? markOpen() : markFailed(new Error(`status ${h[":status"]}`))));
  stream.once("close", onEnded);
  stream.on("data", envelopeReader(seen));
  stream.on("error", () => {});
  stream.end(emptyEnvelope);
}

// Opened in small batches so the server's accept queue is not flooded.
for (let i = 0; i < count; i++) {
  if (protocol === "grpc") openGrpc(i);
  else openH1(i);
  if (i % 50 === 49) await new Promise((r) => setTimeout(r, 5));
}

process.on("message", (msg: { type: string }) => {
  if (msg.type === "stats") process.send!({ type: "stats", received, duplicates, lastReceipt, ended, failed, hist: hist.toJSON() });
  if (msg.type === "exit") {
    exiting = true;
    process.exit(0);
  }
});
