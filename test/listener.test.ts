import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SessionService } from "../gen/wagateway/v1/session_service_pb.js";
import { backends } from "./support/backends.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";
import { bearer } from "./support/transports.js";

/** One raw HTTP/1.1 request; resolves with status and body. */
function h1Request(url: string, path: string, headers: Record<string, string>, body: string) {
  return new Promise<{ status: number; body: string; httpVersion: string }>((resolve, reject) => {
    const req = http.request(`${url}${path}`, { method: "POST", headers, agent: false }, (res) => {
      let data = "";
      res.on("data", (d) => (data += d));
      res.on("end", () => resolve({ status: res.statusCode!, body: data, httpVersion: res.httpVersion }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("one port for HTTP/1.1 and HTTP/2 (cleartext)", () => {
  let gw: TestGateway;
  let key: string;
  beforeAll(async () => {
    gw = await startTestGateway(backends[0]!);
    key = await gw.createKey(gw.newOrgId(), ["manage", "read"]);
  });
  afterAll(() => gw?.close());

  it("answers a plain HTTP/1.1 Connect call and an h2c call on the same port", async () => {
    const headers = { "content-type": "application/json", authorization: `Bearer ${key}` };
    const r1 = await h1Request(gw.url, "/wagateway.v1.SessionService/ListSessions", headers, "{}");
    expect(r1).toMatchObject({ status: 200, httpVersion: "1.1" });
    expect(JSON.parse(r1.body)).toEqual({});

    const session = http2.connect(gw.url);
    try {
      const r2 = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const stream = session.request({ ":method": "POST", ":path": "/wagateway.v1.SessionService/ListSessions", ...headers });
        let status = 0;
        let body = "";
        stream.on("response", (h) => (status = Number(h[":status"])));
        stream.on("data", (d: Buffer) => (body += d.toString()));
        stream.on("end", () => resolve({ status, body }));
        stream.on("error", reject);
        stream.end("{}");
      });
      expect(r2.status).toBe(200);
      expect(JSON.parse(r2.body)).toEqual({});
    } finally {
      session.close();
    }
  });

  it("answers garbage bytes with 400 and keeps serving", async () => {
    const reply = await new Promise<string>((resolve) => {
      const sock = net.connect(gw.port, "127.0.0.1", () => sock.write("\x16\x03\x01 not http at all\r\n\r\n"));
      let data = "";
      sock.on("data", (d) => (data += d.toString()));
      sock.on("close", () => resolve(data));
      sock.on("error", () => resolve(data));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    const client = createClient(SessionService, createGrpcTransport({ baseUrl: gw.url, interceptors: bearer(key) }));
    expect((await client.listSessions({})).sessions).toEqual([]);
  });
});

describe("graceful shutdown", () => {
  it("finishes an in-flight call, refuses new connections, then closes the database", async () => {
    const gw = await startTestGateway(backends[0]!);
    const key = await gw.createKey(gw.newOrgId(), ["manage"]);
    // Start a call whose body is still arriving when shutdown begins.
    const inFlight = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        `${gw.url}/wagateway.v1.SessionService/CreateSession`,
        { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${key}` }, agent: false },
        (res) => {
          let data = "";
          res.on("data", (d) => (data += d));
          res.on("end", () => resolve({ status: res.statusCode!, body: data }));
        },
      );
      req.on("error", reject);
      req.write('{"label":');
      setTimeout(() => {
        stopping = gw.stop();
        setTimeout(() => req.end('"in flight"}'), 200);
      }, 100);
    });
    let stopping: Promise<void> | undefined;
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).session.label).toBe("in flight");
    await stopping;
    await expect(
      new Promise((resolve, reject) => {
        const s = net.connect(gw.port, "127.0.0.1", () => resolve("connected"));
        s.on("error", reject);
      }),
    ).rejects.toThrow(/ECONNREFUSED/);
    await expect(gw.db.selectFrom("sessions").select("id").execute()).rejects.toThrow();
  });
});

describe("TLS with ALPN", () => {
  const dir = mkdtempSync(join(tmpdir(), "wagw-tls-"));
  const cert = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  let gw: TestGateway;
  let key: string;
  beforeAll(async () => {
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", keyFile, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
      "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ], { stdio: "ignore" });
    gw = await startTestGateway(backends[0]!, { TLS_CERT: cert, TLS_KEY: keyFile });
    key = await gw.createKey(gw.newOrgId(), ["manage"]);
  });
  afterAll(async () => {
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("negotiates h2 for gRPC and http/1.1 for a plain HTTPS client on the same port", async () => {
    const ca = readFileSync(cert);
    expect(gw.url).toMatch(/^https:/);
    const grpc = createClient(SessionService, createGrpcTransport({ baseUrl: gw.url, nodeOptions: { ca }, interceptors: bearer(key) }));
    const { session } = await grpc.createSession({ label: "over tls" });
    expect(session!.label).toBe("over tls");

    const connect = createClient(
      SessionService,
      createConnectTransport({ baseUrl: gw.url, httpVersion: "1.1", nodeOptions: { ca }, interceptors: bearer(key) }),
    );
    expect((await connect.getSession({ session: session!.id })).session!.id).toBe(session!.id);

    const alpn = await new Promise<string | false | null>((resolve, reject) => {
      const req = https.request(
        `${gw.url}/wagateway.v1.SessionService/ListSessions`,
        { method: "POST", ca, headers: { "content-type": "application/json", authorization: `Bearer ${key}` }, agent: false },
        (res) => {
          res.resume();
          res.on("end", () => resolve((res.socket as import("node:tls").TLSSocket).alpnProtocol));
        },
      );
      req.on("error", reject);
      req.end("{}");
    });
    expect(alpn === "http/1.1" || !alpn).toBe(true);
  });
});
