import http from "node:http";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends } from "./support/backends.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";
import { type LibraryServer, startLibraryServer } from "./rest/library-server.js";
import { type OpenApiCheck, openApiCheck } from "./rest/openapi-check.js";

/** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick };
}
type Rng = ReturnType<typeof prng>;

const keys = ["label", "autoRead", "presenceTyping", "start", "ratePerMin", "ratePerHour", "name", "permissions", "phoneNumber", "session", "book", "title", "tags", "counts", "extra", "publishedAt", "color", "filter", "text", "number", "__proto__", "constructor", "", "a".repeat(300)];
const strings = ["", "x", "é", "\u0000", "\ud800", "😀".repeat(50), "x".repeat(5000), "stopped", "red", "manage", "-1", "1e400", "99999999999999999999999", "0x10", " 5", "true", "null", "../../etc/passwd"];
const numbers = [0, -0, 1, -1, 1.5, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, 2 ** 64, 1e308, -1e308, 5e-324, 20, 1000, 100001];

function randomJson(r: Rng, depth: number): unknown {
  const k = r.int(depth > 6 ? 4 : 7);
  switch (k) {
    case 0:
      return r.pick(strings);
    case 1:
      return r.pick(numbers);
    case 2:
      return r.pick([true, false, null]);
    case 3:
      return r.int(1000) - 500;
    case 4:
      return Array.from({ length: r.int(4) }, () => randomJson(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = r.int(5); i > 0; i--) o[r.pick(keys)] = randomJson(r, depth + 1);
      return o;
    }
  }
}

function randomBody(r: Rng): Buffer | string | undefined {
  switch (r.int(10)) {
    case 0:
      return undefined;
    case 1:
      return Buffer.from(Array.from({ length: 1 + r.int(64) }, () => r.int(256)));
    case 2:
      return `${"[".repeat(20_000)}${"]".repeat(20_000)}`;
    case 3:
      return `{"label":${"{\"a\":".repeat(3000)}1${"}".repeat(3000)}}`;
    case 4:
      return JSON.stringify(randomJson(r, 0)).slice(0, 1 + r.int(40));
    case 5:
      return `{"ratePerMin":${"9".repeat(1 + r.int(400))}}`;
    case 6:
      return Buffer.concat([Buffer.from('{"label":"'), Buffer.from([0xc3, 0x28, 0xed, 0xa0, 0x80, 0xf8]), Buffer.from('"}')]);
    default:
      return JSON.stringify(randomJson(r, 0));
  }
}

const segments = ["01J9ZX8K2QHV0M3T6R7P4N5W8C", "..", "%2e%2e", "..%2F..%2Fetc%2Fpasswd", "%00", "%ZZ", "%", "a%2Fb", "~", "x".repeat(3000), "%F0%9F%98%80", "%C3%28", "*", "{session}", ":verb", "qr", "start"];

/** Percent-encodes; a lone surrogate becomes the (invalid) UTF-8 of one. */
function enc(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return "%ED%A0%80";
  }
}

function randomPath(r: Rng, base: string[]): string {
  const parts = r.pick(base).split("/");
  const out = parts.map((p) => (p.startsWith("{") || r.int(8) === 0 ? r.pick(segments) : p));
  if (r.int(6) === 0) out.push(r.pick(segments));
  let path = out.join("/");
  if (r.int(3) === 0) {
    const q: string[] = [];
    for (let i = r.int(6); i >= 0; i--) q.push(`${enc(r.pick(keys))}=${enc(String(r.pick([...strings.slice(0, 12), ...numbers])))}`);
    if (r.int(10) === 0) q.push(`x=${"y".repeat(6000)}`);
    if (r.int(10) === 0) q.push("%ZZ=%ZZ&&&=&a");
    path += `?${q.join("&")}`;
  }
  return path;
}

interface Outcome {
  status: number;
  method: string;
  path: string;
  contentType?: string | undefined;
  text?: string;
}

function send(agent: http.Agent, base: string, method: string, path: string, headers: Record<string, string>, body: Buffer | string | undefined): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const h = body === undefined ? headers : { ...headers, "content-length": String(Buffer.byteLength(body)) };
    let req: http.ClientRequest;
    try {
      const u = new URL(base);
      req = http.request({ hostname: u.hostname, port: u.port, path, method, headers: h, agent }, (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode!, method, path, contentType: res.headers["content-type"], text }));
        res.on("error", reject);
      });
    } catch (err) {
      reject(err);
      return;
    }
    req.on("error", () => resolve({ status: 0, method, path }));
    req.end(body);
  });
}

/** Raw bytes a well-behaved client would never send: non-ASCII request targets, broken request lines. */
function sendRaw(port: number, bytes: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1", () => sock.end(bytes));
    let data = "";
    sock.on("data", (d) => (data += d.toString("latin1")));
    sock.on("error", () => resolve(0));
    sock.on("close", () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0)));
  });
}

async function fuzz(opts: { base: string; port: number; paths: string[]; tokens: string[]; count: number; seed: number }): Promise<Outcome[]> {
  const r = prng(opts.seed);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const methods = ["GET", "POST", "PATCH", "DELETE", "PUT", "OPTIONS", "HEAD"];
  const contentTypes = ["application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", "application/proto", "", "multipart/form-data; boundary=x"];
  const out: Outcome[] = [];
  const batch = 16;
  try {
    for (let i = 0; i < opts.count; i += batch) {
      const calls: Promise<Outcome>[] = [];
      for (let j = 0; j < batch && i + j < opts.count; j++) {
        const headers: Record<string, string> = {};
        const ct = r.pick(contentTypes);
        if (ct) headers["content-type"] = ct;
        if (r.int(8) !== 0) headers.authorization = `Bearer ${r.pick(opts.tokens)}`;
        if (r.int(10) === 0) headers.accept = r.pick(["text/event-stream", "image/png", "*/*", "application/x-ndjson"]);
        if (r.int(20) === 0) headers["last-event-id"] = r.pick(["", "x", "41", "-1", "99999999999999999999999", "1.5"]);
        calls.push(send(agent, opts.base, r.pick(methods), randomPath(r, opts.paths), headers, randomBody(r)));
      }
      out.push(...(await Promise.all(calls)));
    }
    const raws = [
      "GET /api/v1/sessions/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /api/v1/sessions/é HTTP/1.1\r\nHost: x\r\n\r\n",
      "POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n{}{}{}",
      "POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n",
      "GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET * HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET http://evil/api/v1/sessions HTTP/1.1\r\nHost: x\r\n\r\n",
      `GET /api/v1/sessions?${"a=b&".repeat(10_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      "\x00\x01\x02\x03 HTTP/1.1\r\n\r\n",
    ];
    for (const raw of raws) {
      const status = await sendRaw(opts.port, Buffer.from(raw, "latin1"));
      out.push({ status, method: "RAW", path: JSON.stringify(raw.slice(0, 60)) });
    }
  } finally {
    agent.destroy();
  }
  return out;
}

/** Checks every answer of the REST handler against the OpenAPI document (node's own 400/431 for unparseable requests have no body). */
function checkAll(check: OpenApiCheck, outcomes: Outcome[]): void {
  for (const o of outcomes) {
    if (o.method === "RAW" || o.method === "HEAD" || o.method === "OPTIONS" || o.status === 0 || o.contentType === undefined) continue;
    const path = o.path.split("?")[0]!;
    if (path === "/openapi.json") continue;
    check.response(o.method, path, { status: o.status, contentType: o.contentType, text: o.text ?? "" });
  }
}

function serverErrors(outcomes: Outcome[]): Outcome[] {
  return outcomes.filter((o) => o.status >= 500);
}

describe("fuzz: malformed requests never cause a 5xx", () => {
  describe.each(backends)("the gateway on $name", (backend) => {
    let gw: TestGateway;
    let key: string;
    beforeAll(async () => {
      gw = await startTestGateway(backend);
      key = await gw.createKey(gw.newOrgId(), ["manage", "read"]);
    });
    afterAll(() => gw?.close());

    it("survives thousands of malformed REST requests", async () => {
      const paths = ["/api/v1/sessions", "/api/v1/sessions/{session}", "/api/v1/api-keys", "/api/v1/api-keys/{key}", "/api/v1/sessions/{session}/qr", "/api/v1/nothing", "/openapi.json"];
      const outcomes = await fuzz({ base: gw.url, port: gw.port, paths, tokens: [key, "wag_bogus", "", "x".repeat(2000)], count: 2500, seed: 20261125 });
      expect(serverErrors(outcomes)).toEqual([]);
      checkAll(await openApiCheck(gw.url), outcomes);
      expect(outcomes.filter((o) => o.status === 0 && o.method !== "RAW")).toEqual([]);
      const byClass = new Map<number, number>();
      for (const o of outcomes) byClass.set(Math.floor(o.status / 100), (byClass.get(Math.floor(o.status / 100)) ?? 0) + 1);
      expect(byClass.get(4) ?? 0).toBeGreaterThan(outcomes.length / 2);
      // Still serving.
      const ok = await fetch(`${gw.url}/api/v1/sessions`, { headers: { authorization: `Bearer ${key}` } });
      expect(ok.status).toBe(200);
    });
  });

  describe("the test-only LibraryService (every field kind)", () => {
    let srv: LibraryServer;
    beforeAll(async () => {
      srv = await startLibraryServer();
    });
    afterAll(() => srv?.close());

    it("survives thousands of malformed REST requests", async () => {
      const paths = ["/v1/echo", "/v1/shelves/{shelf}/books", "/v1/shelves/{shelf}/books/{book}", "/v1/shelves/{shelf}/books/{book}:archive", "/v1/files/{path}", "/v1/books", "/v1/watch", "/v1/count/{to}"];
      const outcomes = await fuzz({ base: srv.url, port: srv.port, paths, tokens: ["ok"], count: 2500, seed: 7 });
      expect(serverErrors(outcomes)).toEqual([]);
      checkAll(await openApiCheck(srv.url), outcomes);
      const ok = await fetch(`${srv.url}/v1/books`);
      expect(ok.status).toBe(200);
    });
  });
});
