import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpCall } from "./rest/http-call.js";
import { type LibraryServer, startLibraryServer } from "./rest/library-server.js";
import { backends } from "./support/backends.js";
import { startTestGateway } from "./support/test-gateway.js";

/** Opens a raw TCP connection, writes `chunks` `gapMs` apart, and resolves with what came back when the server closes it. */
function rawExchange(port: number, chunks: string[], gapMs: number, maxMs = 10_000): Promise<{ reply: string; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    let reply = "";
    let i = 0;
    let timer: NodeJS.Timeout | undefined;
    const giveUp = setTimeout(() => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ reply, closedByServer: false });
    }, maxMs);
    const next = () => {
      if (i < chunks.length && !sock.destroyed) {
        sock.write(chunks[i++]!);
        timer = setTimeout(next, gapMs);
      }
    };
    sock.on("connect", next);
    sock.on("data", (d) => (reply += d.toString()));
    sock.on("error", () => {});
    sock.on("close", () => {
      clearTimeout(giveUp);
      clearTimeout(timer);
      resolve({ reply, closedByServer: true });
    });
  });
}

describe("limits: body cap, slow senders, idle connections", () => {
  let srv: LibraryServer;
  beforeAll(async () => {
    srv = await startLibraryServer({ maxBodyBytes: 2048, bodyIdleMs: 300 }, { headersTimeoutMs: 500, keepAliveTimeoutMs: 300 });
  });
  afterAll(() => srv?.close());

  it("refuses a body over the cap with 413 in the envelope (declared or streamed)", async () => {
    const big = JSON.stringify({ book: { title: "x".repeat(4000) } });
    const declared = await httpCall(srv.url, "POST", "/v1/echo", { headers: { "content-type": "application/json" }, body: big });
    expect(declared.status).toBe(413);
    expect(declared.json.error).toMatchObject({ code: "validation_error", details: { fields: { body: "must be at most 2048 bytes" } } });
    expect(declared.headers.connection).toBe("close");

    const { reply } = await rawExchange(srv.port, ["POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", `1000\r\n${"x".repeat(4096)}\r\n`, "0\r\n\r\n"], 20);
    expect(reply).toMatch(/^HTTP\/1\.1 413 /);
    expect(reply).toContain('"code":"validation_error"');

    // The cap applies to Connect too (per message).
    const connect = await httpCall(srv.url, "POST", "/resttest.v1.LibraryService/Echo", { headers: { "content-type": "application/json" }, body: big });
    expect(connect.status).not.toBe(200);
    expect(connect.json.code).toBe("resource_exhausted");
  });

  it("refuses a body that stalls with 408 and closes the connection", async () => {
    const { reply, closedByServer } = await rawExchange(srv.port, ["POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{\"bo"], 5_000);
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
    expect(reply).toContain('"code":"validation_error"');
    expect(closedByServer).toBe(true);
  });

  it("closes a connection whose headers trickle in (slow loris)", async () => {
    const chunks = ["GET /v1/books HTTP/1.1\r\n", ...Array.from({ length: 60 }, (_, i) => `X-Slow-${i}: y\r\n`)];
    const { closedByServer, reply } = await rawExchange(srv.port, chunks, 100);
    expect(closedByServer).toBe(true);
    expect(reply).toMatch(/^$|^HTTP\/1\.1 40[08] /);
  });

  it("closes a connection that never sends a byte, and an idle keep-alive connection", async () => {
    const silent = await rawExchange(srv.port, [], 0);
    expect(silent.closedByServer).toBe(true);
    const idle = await rawExchange(srv.port, ["GET /v1/books HTTP/1.1\r\nHost: x\r\n\r\n"], 0);
    expect(idle.closedByServer).toBe(true);
    expect(idle.reply).toMatch(/^HTTP\/1\.1 200 /);
  });
});

describe("CORS", () => {
  let srv: LibraryServer;
  beforeAll(async () => {
    srv = await startLibraryServer({ corsOrigins: ["https://app.example"] });
  });
  afterAll(() => srv?.close());

  it("answers preflights for REST verbs and Connect / gRPC-Web headers from an allowed origin", async () => {
    for (const [path, method, headers] of [
      ["/v1/shelves/s/books/b", "PATCH", "authorization, content-type"],
      ["/resttest.v1.LibraryService/GetBook", "POST", "connect-protocol-version, content-type, authorization"],
      ["/resttest.v1.LibraryService/GetBook", "POST", "x-grpc-web, content-type, x-user-agent"],
      ["/v1/watch", "GET", "last-event-id, authorization"],
    ]) {
      const r = await httpCall(srv.url, "OPTIONS", path!, { headers: { origin: "https://app.example", "access-control-request-method": method!, "access-control-request-headers": headers! } });
      expect(r.status, path).toBe(204);
      expect(r.headers["access-control-allow-origin"]).toBe("https://app.example");
      expect(r.headers["access-control-allow-methods"]).toContain(method);
      const allowed = r.headers["access-control-allow-headers"]!.toLowerCase();
      for (const h of headers!.split(", ")) expect(allowed, h).toContain(h);
      expect(r.headers.vary).toBe("Origin");
    }
  });

  it("exposes Connect / gRPC-Web headers on actual responses, REST and Connect alike", async () => {
    const rest = await httpCall(srv.url, "GET", "/v1/shelves/s/books/b", { headers: { origin: "https://app.example" } });
    expect(rest.headers["access-control-allow-origin"]).toBe("https://app.example");
    const exposed = rest.headers["access-control-expose-headers"]!;
    for (const h of ["Grpc-Status", "Grpc-Message", "Grpc-Status-Details-Bin", "WWW-Authenticate"]) expect(exposed).toContain(h);
    const connect = await httpCall(srv.url, "POST", "/resttest.v1.LibraryService/GetBook", { headers: { origin: "https://app.example", "content-type": "application/json" }, body: '{"shelf":"s","book":"b"}' });
    expect(connect.status).toBe(200);
    expect(connect.headers["access-control-allow-origin"]).toBe("https://app.example");
    expect(connect.headers["access-control-expose-headers"]).toContain("Grpc-Status");
  });

  it("gives other origins nothing", async () => {
    const r = await httpCall(srv.url, "OPTIONS", "/v1/books", { headers: { origin: "https://evil.example", "access-control-request-method": "GET" } });
    expect(r.headers["access-control-allow-origin"]).toBeUndefined();
    const g = await httpCall(srv.url, "GET", "/v1/books", { headers: { origin: "https://evil.example" } });
    expect(g.status).toBe(200);
    expect(g.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("allows any origin with *", async () => {
    const any = await startLibraryServer({ corsOrigins: ["*"] });
    try {
      const r = await httpCall(any.url, "GET", "/v1/books", { headers: { origin: "https://whoever.example" } });
      expect(r.headers["access-control-allow-origin"]).toBe("*");
    } finally {
      await any.close();
    }
  });
});

describe("the gateway reads CORS_ORIGINS and MAX_BODY_BYTES", () => {
  it("applies them to REST and Connect", async () => {
    const gw = await startTestGateway(backends[0]!, { CORS_ORIGINS: "https://App.example/, https://other.example", MAX_BODY_BYTES: "2048" });
    try {
      const key = await gw.createKey(gw.newOrgId(), ["manage"]);
      const pre = await httpCall(gw.url, "OPTIONS", "/api/v1/sessions", { headers: { origin: "https://app.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" } });
      expect(pre.status).toBe(204);
      expect(pre.headers["access-control-allow-origin"]).toBe("https://app.example");
      const connectPre = await httpCall(gw.url, "OPTIONS", "/wagateway.v1.SessionService/ListSessions", { headers: { origin: "https://other.example", "access-control-request-method": "POST", "access-control-request-headers": "connect-protocol-version, content-type" } });
      expect(connectPre.headers["access-control-allow-origin"]).toBe("https://other.example");
      const big = await httpCall(gw.url, "POST", "/api/v1/sessions", { headers: { authorization: `Bearer ${key}`, "content-type": "application/json", origin: "https://app.example" }, body: JSON.stringify({ label: "x".repeat(3000) }) });
      expect(big.status).toBe(413);
      expect(big.headers["access-control-allow-origin"]).toBe("https://app.example");
      expect(big.json.error.code).toBe("validation_error");
    } finally {
      await gw.close();
    }
  });
});
