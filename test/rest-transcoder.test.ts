import http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePathTemplate, PathTemplateError } from "../src/rest/path-template.js";
import { httpCall } from "./rest/http-call.js";
import { startLibraryServer, type LibraryServer } from "./rest/library-server.js";
import { type OpenApiCheck, openApiCheck } from "./rest/openapi-check.js";

describe("path templates", () => {
  it("parses literals, variables, nested field paths, patterns, ** and verbs", () => {
    expect(parsePathTemplate("/v1/shelves/{shelf}/books/{book}")).toMatchObject({
      segments: [{ kind: "literal", value: "v1" }, { kind: "literal", value: "shelves" }, { kind: "star" }, { kind: "literal", value: "books" }, { kind: "star" }],
      variables: [
        { fieldPath: ["shelf"], start: 2, end: 3 },
        { fieldPath: ["book"], start: 4, end: 5 },
      ],
      verb: undefined,
    });
    expect(parsePathTemplate("/v1/{name=libraries/*/books/*}").variables).toEqual([{ fieldPath: ["name"], start: 1, end: 5 }]);
    expect(parsePathTemplate("/v1/files/{path=**}").segments.at(-1)).toEqual({ kind: "double-star" });
    expect(parsePathTemplate("/v1/{book.id}:archive")).toMatchObject({ verb: "archive", variables: [{ fieldPath: ["book", "id"] }] });
    expect(parsePathTemplate("/v1/a/*:do").segments).toEqual([{ kind: "literal", value: "v1" }, { kind: "literal", value: "a" }, { kind: "star" }]);
  });

  it("rejects templates outside the grammar", () => {
    for (const bad of ["v1/x", "/v1/{x", "/v1/**/x", "/v1/{a}/{a}", "/v1/{a-b}", "/v1/{x=a/{y}}"]) {
      expect(() => parsePathTemplate(bad), bad).toThrow(PathTemplateError);
    }
  });
});

describe("REST transcoding of the test-only LibraryService", () => {
  let srv: LibraryServer;
  let check: OpenApiCheck;
  const call = async (method: string, path: string, opts: { headers?: Record<string, string>; body?: string | Buffer } = {}) => {
    const r = await httpCall(srv.url, method, path, opts);
    check.response(method, path.split("?")[0]!, { status: r.status, contentType: r.headers["content-type"], text: r.text });
    return r;
  };
  const json = (body: unknown) => ({ headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

  beforeAll(async () => {
    srv = await startLibraryServer();
    check = await openApiCheck(srv.url);
  });
  afterAll(() => srv?.close());

  it("binds single-segment variables and writes every field of the response", async () => {
    const r = await call("GET", "/v1/shelves/s1/books/b%201");
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/json");
    // Headers and trailers the handler set travel as response headers.
    expect(r.headers["x-book-etag"]).toBe('"b 1"');
    expect(r.headers["x-served-by"]).toBe("library");
    expect(r.json).toEqual({
      shelf: "s1",
      id: "b 1",
      title: "title of b 1",
      subtitle: null,
      publishedAt: 1719662400000,
      archivedAt: null,
      color: "unspecified",
      tags: [],
      counts: {},
      cover: "",
      rating: 0,
      available: false,
      big: 0,
      extra: null,
      filter: null,
      tint: null,
      inners: [],
      delta: 0,
      weight: 0,
    });
  });

  it("binds multi-segment and ** variables", async () => {
    expect((await call("GET", "/v1/libraries/l1/books/b2")).json.id).toBe("libraries/l1/books/b2");
    expect((await call("GET", "/v1/files/a/b/c.txt")).json).toEqual({ path: "a/b/c.txt" });
    expect((await call("GET", "/v1/files/x")).json).toEqual({ path: "x" });
    // The multi-segment pattern's literals must match.
    expect((await call("GET", "/v1/libraries/l1/shelves/b2")).status).toBe(404);
  });

  it("reads query parameters: scalars, enums by word, repeated by repetition, nested by dots", async () => {
    const r = await call("GET", "/v1/shelves/s9/books?pageSize=5&tags=a&tags=b&filter.author=ann&filter.minPages=10&filter.inner.flag=true&filter.inner.colors=red&filter.inner.colors=dark_blue&since=9007199254740993&color=DARK_BLUE&available=false&min_rating=2.5");
    expect(r.status).toBe(200);
    expect(r.json.request).toEqual({
      shelf: "s9",
      pageSize: 5,
      tags: ["a", "b"],
      filter: { author: "ann", minPages: 10, inner: { flag: true, colors: ["red", "dark_blue"] } },
      since: 9007199254740993,
      color: "dark_blue",
      available: false,
      minRating: 2.5,
    });
    // int64 beyond 2^53 travels as exact digits.
    expect(r.text).toContain('"since":9007199254740993');
  });

  it("serves additional_bindings", async () => {
    const r = await call("GET", "/v1/books?pageSize=1");
    expect(r.status).toBe(200);
    expect(r.json.request).toMatchObject({ shelf: "", pageSize: 1 });
  });

  it("rejects unknown, repeated-singular and ill-typed query parameters naming them", async () => {
    const cases: [string, string][] = [
      ["/v1/books?nope=1", "nope"],
      ["/v1/books?pageSize=1&pageSize=2", "pageSize"],
      ["/v1/books?pageSize=x", "pageSize"],
      ["/v1/books?pageSize=99999999999", "pageSize"],
      ["/v1/books?color=green", "color"],
      ["/v1/books?available=yes", "available"],
      ["/v1/books?filter=x", "filter"],
      ["/v1/books?since=1.5", "since"],
    ];
    for (const [path, field] of cases) {
      const r = await call("GET", path);
      expect(r.status, path).toBe(400);
      expect(r.json.error.code).toBe("validation_error");
      expect(Object.keys(r.json.error.details.fields), path).toEqual([field]);
    }
  });

  it("body: field — the body is that field, the rest from path and query; POST Create* is 201", async () => {
    const r = await call("POST", "/v1/shelves/s1/books?requestId=r1", json({ title: "T", publishedAt: "1719662400000", color: "red", tags: ["x"], counts: { a: 1 }, extra: { k: [1, "two", null] } }));
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ shelf: "s1", id: "r1", title: "T", publishedAt: 1719662400000, color: "red", tags: ["x"], counts: { a: 1 }, extra: { k: [1, "two", null] } });
    const bad = await call("POST", "/v1/shelves/s1/books", json({ title: 5 }));
    expect(bad.status).toBe(400);
    expect(bad.json.error.details.fields).toEqual({ "book.title": "must be a string" });
  });

  it("body: * with nested path variables and response_body", async () => {
    const r = await call("PATCH", "/v1/shelves/s1/books/b1", json({ book: { title: "New" }, allowMissing: true }));
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ shelf: "s1", id: "b1", title: "New" });
    expect(r.json.created).toBeUndefined(); // response_body: only the book
    // The path wins only when the body agrees with it.
    const same = await call("PATCH", "/v1/shelves/s1/books/b1", json({ book: { id: "b1" } }));
    expect(same.status).toBe(200);
    const clash = await call("PATCH", "/v1/shelves/s1/books/b1", json({ book: { id: "other" } }));
    expect(clash.status).toBe(400);
    expect(clash.json.error.details.fields).toEqual({ "book.id": "must match the URL path" });
    // body "*" takes no query parameters.
    const q = await call("PATCH", "/v1/shelves/s1/books/b1?allowMissing=true", json({}));
    expect(q.status).toBe(400);
    expect(q.json.error.details.fields).toEqual({ allowMissing: "unknown query parameter" });
  });

  it("an empty response message is 204 with no body", async () => {
    const r = await call("DELETE", "/v1/shelves/s1/books/b1");
    expect(r.status).toBe(204);
    expect(r.text).toBe("");
  });

  it("a custom verb, PUT and a custom method kind", async () => {
    const a = await call("POST", "/v1/shelves/s1/books/b1:archive", json({ reason: "old" }));
    expect(a.status).toBe(200);
    expect(a.json).toMatchObject({ shelf: "s1", id: "b1", subtitle: "old" });
    const p = await call("PUT", "/v1/shelves/s1/books/b1", json({ title: "put" }));
    expect(p.json).toMatchObject({ id: "b1", title: "put" });
    const purge = await httpCall(srv.url, "PURGE", "/v1/shelves/s1/books/b1");
    expect(purge.status).toBe(200);
    expect(purge.json).toMatchObject({ id: "b1" });
  });

  it("round-trips every field kind through body: * in the JSON profile", async () => {
    const book = {
      shelf: "s",
      id: "i",
      title: "t",
      subtitle: "sub",
      publishedAt: 1,
      archivedAt: 2,
      color: "dark_blue",
      tags: ["a"],
      counts: { x: -3 },
      cover: "AAEC",
      rating: 1.5,
      available: true,
      big: 18446744073709551615n,
      extra: { nested: { ok: true } },
      filter: { author: "a", minPages: 1, inner: { flag: true, colors: ["red"] } },
      tint: "red",
      inners: [{ flag: false, colors: [] }],
      delta: -7,
      weight: 0.5,
    };
    const body = JSON.stringify({ book, number: "42" }, (_k, v) => (typeof v === "bigint" ? "18446744073709551615" : v));
    const r = await call("POST", "/v1/echo", { headers: { "content-type": "application/json" }, body });
    expect(r.status).toBe(200);
    expect(r.text).toContain('"big":18446744073709551615');
    expect(r.json.book).toEqual({ ...book, big: 18446744073709551615 });
    expect(r.json.number).toBe(42);
    expect(r.json.text).toBeNull();
    // Proto names, full enum names and numbers are accepted too; null is absent.
    const alt = await call("POST", "/v1/echo", json({ book: { published_at: 5, color: "COLOR_RED", tint: 2, subtitle: null }, text: "hi" }));
    expect(alt.json.book).toMatchObject({ publishedAt: 5, color: "red", tint: "dark_blue", subtitle: null });
    expect(alt.json).toMatchObject({ text: "hi", number: null });
  });

  it("rejects bodies that do not fit, naming the field", async () => {
    const cases: [unknown, string][] = [
      [{ nope: 1 }, "nope"],
      [{ book: { nope: 1 } }, "book.nope"],
      [{ book: { title: 1 } }, "book.title"],
      [{ book: { publishedAt: 1.5 } }, "book.publishedAt"],
      [{ book: { publishedAt: 2 ** 60 } }, "book.publishedAt"],
      [{ book: { publishedAt: "9223372036854775808" } }, "book.publishedAt"],
      [{ book: { delta: 2 ** 31 } }, "book.delta"],
      [{ book: { big: -1 } }, "book.big"],
      [{ book: { color: "green" } }, "book.color"],
      [{ book: { tags: "a" } }, "book.tags"],
      [{ book: { tags: [1] } }, "book.tags[0]"],
      [{ book: { counts: { a: "x" } } }, "book.counts.a"],
      [{ book: { cover: "!!" } }, "book.cover"],
      [{ book: { available: "true" } }, "book.available"],
      [{ book: { weight: 1e39 } }, "book.weight"],
      [{ book: { extra: [1] } }, "book.extra"],
      [{ book: [] }, "book"],
      [{ text: "a", number: 1 }, "number"],
      [[1, 2], "body"],
      ["str", "body"],
    ];
    for (const [body, field] of cases) {
      const r = await call("POST", "/v1/echo", json(body));
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error.code).toBe("validation_error");
      expect(Object.keys(r.json.error.details.fields), JSON.stringify(body)).toEqual([field]);
    }
    for (const raw of ["{", "{\"a\":}", "nul"]) {
      const r = await call("POST", "/v1/echo", { headers: { "content-type": "application/json" }, body: raw });
      expect(r.status).toBe(400);
      expect(r.json.error.details.fields.body).toMatch(/not valid JSON/);
    }
    const utf = await call("POST", "/v1/echo", { headers: { "content-type": "application/json" }, body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]) });
    expect(utf.status).toBe(400);
    expect(utf.json.error.details.fields.body).toBe("is not valid UTF-8");
    const deep = await call("POST", "/v1/echo", json({ book: { extra: JSON.parse(`${'{"a":'.repeat(200)}1${"}".repeat(200)}`) } }));
    expect(deep.status).toBe(400);
    const noBody = await call("GET", "/v1/shelves/s/books/b", json({ x: 1 }));
    expect(noBody.status).toBe(400);
    expect(noBody.json.error.details.fields).toEqual({ body: "this route takes no request body" });
  });

  it("maps every contract word to its status, unimplemented to 501, and adds WWW-Authenticate on 401", async () => {
    const table: Record<string, number> = { validation_error: 400, unauthorized: 401, forbidden: 403, not_found: 404, conflict: 409, rate_limited: 429, internal: 500, unavailable: 503 };
    for (const [word, status] of Object.entries(table)) {
      const r = await call("GET", `/v1/fail/${word}`);
      expect(r.status, word).toBe(status);
      expect(r.json).toEqual({ error: { code: word, message: `failed with ${word}`, details: word === "validation_error" ? { fields: { word: "is bad" } } : {} } });
      if (status === 401) expect(r.headers["www-authenticate"]).toBe("Bearer");
      if (status === 429) expect(r.headers["retry-after"]).toBe("7");
    }
    const panic = await call("GET", "/v1/fail/panic");
    expect(panic.status).toBe(500);
    expect(panic.json.error).toEqual({ code: "internal", message: "internal error", details: {} });
    for (const path of ["/v1/fail/unimplemented", "/v1/missing"]) {
      const r = await call("GET", path);
      expect(r.status).toBe(501);
      expect(r.json.error.code).toBe("internal");
    }
  });

  it("runs REST calls through the interceptors with the caller's headers", async () => {
    const r = await call("GET", "/v1/shelves/s/books/b", { headers: { authorization: "Bearer bad" } });
    expect(r.status).toBe(401);
    expect(r.headers["www-authenticate"]).toBe("Bearer");
    expect(srv.state.authorizations).toContain("Bearer bad");
  });

  it("answers unknown routes 404 and wrong methods 405 with Allow, in the envelope", async () => {
    const nf = await call("GET", "/v1/nothing/here");
    expect(nf.status).toBe(404);
    expect(nf.json.error.code).toBe("not_found");
    const na = await call("POST", "/v1/shelves/s/books/b");
    expect(na.status).toBe(405);
    expect(na.headers.allow).toBe("DELETE, GET, PATCH, PURGE, PUT");
    expect(na.json.error).toMatchObject({ code: "not_found" });
    expect((await call("GET", "/v1/shelves/s/books/")).status).toBe(404);
    expect((await call("GET", "/v1/shelves//books/b")).status).toBe(404);
  });

  it("streams NDJSON by default: result lines, heartbeats dropped, a final error line", async () => {
    const r = await call("GET", "/v1/watch?count=3");
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/x-ndjson");
    expect(r.text.trim().split("\n").map((l) => JSON.parse(l))).toEqual([1, 2, 3].map((n) => ({ result: { id: String(n), text: `item ${n}`, data: { n, nested: { list: [n, null, "x"] } } } })));
    const failed = await call("GET", "/v1/watch?count=1&fail=unavailable");
    const lines = failed.text.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.at(-1)).toEqual({ error: { code: "unavailable", message: "stream failed with unavailable", details: {} } });
    const plain = await call("GET", "/v1/count/3");
    expect(plain.text.trim().split("\n").map((l) => JSON.parse(l))).toEqual([{ result: { n: 1 } }, { result: { n: 2 } }, { result: { n: 3 } }]);
  });

  it("streams SSE with id lines and heartbeat comments; Last-Event-ID sets after", async () => {
    const r = await call("GET", "/v1/watch?count=2", { headers: { accept: "text/event-stream", "last-event-id": "41" } });
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    const blocks = r.text.split("\n\n").filter((b) => b !== "");
    expect(blocks.filter((b) => b.startsWith(":")).length).toBeGreaterThanOrEqual(1);
    expect(blocks.filter((b) => !b.startsWith(":"))).toEqual(['id: 42\ndata: {"id":"42","text":"item 42","data":{"n":42,"nested":{"list":[42,null,"x"]}}}', 'id: 43\ndata: {"id":"43","text":"item 43","data":{"n":43,"nested":{"list":[43,null,"x"]}}}']);
    const failed = await call("GET", "/v1/watch?count=1&fail=conflict", { headers: { accept: "text/event-stream" } });
    expect(failed.status).toBe(200);
    expect(failed.text).toContain('event: error\ndata: {"error":{"code":"conflict","message":"stream failed with conflict","details":{}}}\n\n');
  });

  it("answers a stream that fails before its first message with an HTTP error", async () => {
    const r = await call("GET", "/v1/watch?count=1", { headers: { authorization: "Bearer bad" } });
    expect(r.status).toBe(401);
    expect(r.headers["www-authenticate"]).toBe("Bearer");
  });

  it("cancels the handler when the client leaves", async () => {
    const before = srv.state.cancelled;
    await new Promise<void>((resolve, reject) => {
      const req = (require_http()).request(`${srv.url}/v1/watch?count=1&hold=true`, { headers: { accept: "text/event-stream" }, agent: false }, (res) => {
        res.once("data", () => {
          req.destroy();
          resolve();
        });
      });
      req.on("error", () => {});
      req.on("close", () => resolve());
      req.end();
      setTimeout(() => reject(new Error("no data")), 5000);
    });
    for (let i = 0; i < 100 && srv.state.cancelled === before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(srv.state.cancelled).toBe(before + 1);
  });

  it("renders an alternative media type when Accept names it (a QR code PNG), JSON otherwise", async () => {
    const png = await fetch(`${srv.url}/v1/shelves/s/books/b`, { headers: { accept: "image/png" } });
    expect(png.status).toBe(200);
    expect(png.headers.get("content-type")).toBe("image/png");
    const bytes = Buffer.from(await png.arrayBuffer());
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(bytes.subarray(12, 16).toString("latin1")).toBe("IHDR");
    expect(bytes.readUInt32BE(16)).toBeGreaterThan(20);
    for (const accept of ["*/*", "application/json", "image/png;q=0, application/json", "image/*"]) {
      const r = await call("GET", "/v1/shelves/s/books/b", { headers: { accept } });
      expect(r.headers["content-type"], accept).toBe("application/json");
    }
    expect(Object.keys(check.doc.paths["/v1/shelves/{shelf}/books/{book}"].get.responses["200"].content)).toEqual(["application/json", "image/png"]);
    // Too much data for a QR code: JSON instead of a failure.
    const big = await call("GET", `/v1/shelves/s/books/${"x".repeat(3000)}`, { headers: { accept: "image/png" } });
    expect(big.status).toBe(200);
    expect(big.headers["content-type"]).toBe("application/json");
  });

  it("serves REST over h2c too: unary with a body, errors, and a stream", async () => {
    const session = http2.connect(srv.url);
    const h2 = (headers: http2.OutgoingHttpHeaders, body?: string) =>
      new Promise<{ status: number; headers: http2.IncomingHttpHeaders; text: string }>((resolve, reject) => {
        const stream = session.request(headers);
        let text = "";
        let h: http2.IncomingHttpHeaders = {};
        stream.on("response", (x) => (h = x));
        stream.on("data", (d: Buffer) => (text += d.toString()));
        stream.on("end", () => resolve({ status: Number(h[":status"]), headers: h, text }));
        stream.on("error", reject);
        stream.end(body);
      });
    try {
      const get = await h2({ ":method": "GET", ":path": "/v1/shelves/s/books/b" });
      expect(get.status).toBe(200);
      expect(JSON.parse(get.text)).toMatchObject({ shelf: "s", id: "b" });
      const post = await h2({ ":method": "POST", ":path": "/v1/shelves/s/books?requestId=h2", "content-type": "application/json" }, '{"title":"over h2"}');
      expect(post.status).toBe(201);
      expect(JSON.parse(post.text)).toMatchObject({ id: "h2", title: "over h2" });
      const bad = await h2({ ":method": "POST", ":path": "/v1/echo", "content-type": "application/json" }, "{");
      expect(bad.status).toBe(400);
      const stream = await h2({ ":method": "GET", ":path": "/v1/watch?count=2", accept: "text/event-stream" });
      expect(stream.status).toBe(200);
      expect(stream.text).toContain("id: 2\n");
      for (const [method, path, r] of [["GET", "/v1/shelves/s/books/b", get], ["POST", "/v1/shelves/s/books", post], ["POST", "/v1/echo", bad], ["GET", "/v1/watch", stream]] as const) {
        check.response(method, path, { status: r.status, contentType: r.headers["content-type"] as string | undefined, text: r.text });
      }
    } finally {
      session.close();
    }
  });

  it("serves an OpenAPI document with every binding", () => {
    const paths = Object.keys(check.doc.paths);
    expect(paths).toEqual(expect.arrayContaining(["/v1/shelves/{shelf}/books/{book}", "/v1/{name}", "/v1/files/{path}", "/v1/books", "/v1/shelves/{book.shelf}/books/{book.id}", "/v1/shelves/{shelf}/books/{book}:archive"]));
    expect(check.doc.paths["/v1/shelves/{shelf}/books"].post.responses["201"]).toBeDefined();
    expect(check.doc.paths["/v1/shelves/{shelf}/books/{book}"].delete.responses["204"]).toBeDefined();
    expect(check.doc.paths["/v1/shelves/{shelf}/books/{book}"].purge).toBeUndefined(); // OpenAPI has no PURGE
    expect(check.doc.paths["/v1/{name}"].get.parameters[0]).toMatchObject({ name: "name", schema: { pattern: "^libraries/[^/]+/books/[^/]+$" }, "x-multi-segment": true });
    expect(check.doc.paths["/v1/files/{path}"].get.parameters[0].schema.pattern).toBe("^.*$");
    const list = check.doc.paths["/v1/shelves/{shelf}/books"].get.parameters.map((p: { name: string }) => p.name);
    expect(list).toEqual(["shelf", "pageSize", "tags", "filter.author", "filter.minPages", "filter.inner.flag", "filter.inner.colors", "since", "color", "available", "minRating"]);
  });
});

import * as httpModule from "node:http";
function require_http() {
  return httpModule;
}
