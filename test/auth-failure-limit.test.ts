import http from "node:http";
import http2 from "node:http2";
import { randomBytes } from "node:crypto";
import { Code, createClient, createRouterTransport } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RetryInfoSchema } from "../gen/google/rpc/error_details_pb.js";
import { SessionService } from "../gen/wagateway/v1/session_service_pb.js";
import { createAuthFailureLimiter } from "../src/auth/auth-failure-limiter.js";
import type { Principal } from "../src/auth/principal.js";
import { apiError } from "../src/errors/api-error.js";
import { authInterceptor } from "../src/server/auth-interceptor.js";
import { clientAddressHeader, clientKey } from "../src/server/client-address.js";
import { backends } from "./support/backends.js";
import { expectApiError } from "./support/expect-error.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";

describe("failed-authentication limiter", () => {
  it("blocks a client after `limit` failures until its window ends; other clients and limit 0 unaffected", () => {
    let t = 1_000;
    const limiter = createAuthFailureLimiter({ limit: 3, windowMs: 10_000 }, () => t);
    for (let i = 0; i < 3; i++) {
      expect(limiter.retryAfterMs("a")).toBe(0);
      limiter.recordFailure("a");
      t += 1_000;
    }
    expect(limiter.retryAfterMs("a")).toBe(7_000);
    expect(limiter.retryAfterMs("b")).toBe(0);
    t += 7_000;
    expect(limiter.retryAfterMs("a")).toBe(0);
    limiter.recordFailure("a"); // a new window
    expect(limiter.retryAfterMs("a")).toBe(0);

    const off = createAuthFailureLimiter({ limit: 0, windowMs: 10_000 }, () => t);
    for (let i = 0; i < 100; i++) off.recordFailure("a");
    expect(off.retryAfterMs("a")).toBe(0);
  });

  it("keeps at most maxClients windows", () => {
    let t = 0;
    const limiter = createAuthFailureLimiter({ limit: 1, windowMs: 1_000 }, () => t, 3);
    for (const c of ["a", "b", "c", "d"]) limiter.recordFailure(c);
    expect(limiter.retryAfterMs("a")).toBe(0); // evicted, the oldest
    expect(limiter.retryAfterMs("d")).toBe(1_000);
    t = 5_000;
    limiter.recordFailure("e"); // expired windows go first
    expect(limiter.retryAfterMs("e")).toBe(1_000);
  });

  it("knows clients by IPv4 address or IPv6 /64", () => {
    expect(clientKey("127.0.0.1")).toBe("127.0.0.1");
    expect(clientKey("::ffff:10.1.2.3")).toBe("10.1.2.3");
    expect(clientKey("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:db8:1:2::99")).toBe(clientKey("2001:db8:1:2:ffff:ffff:ffff:ffff"));
    expect(clientKey("::1")).toBe("0:0:0:0::/64");
    expect(clientKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(clientKey(undefined)).toBe("unknown");
  });
});

describe("auth interceptor with a failure limit", () => {
  const principal: Principal = { kind: "api_key", organizationId: "org_1", userId: undefined, apiKeyId: "k", capabilities: new Set(["manage", "read"]) };
  let t = 0;
  let checked = 0;
  const transport = createRouterTransport(
    ({ service }) => service(SessionService, { listSessions: () => ({ sessions: [] }) }),
    {
      router: {
        interceptors: [
          authInterceptor(async (authorization) => {
            checked++;
            if (authorization === "Bearer good") return principal;
            throw apiError("unauthorized", "unknown or revoked API key");
          }, createAuthFailureLimiter({ limit: 3, windowMs: 60_000 }, () => t)),
        ],
      },
    },
  );
  const client = createClient(SessionService, transport);
  const call = (from: string, authorization?: string) =>
    client.listSessions({}, { headers: { [clientAddressHeader]: from, ...(authorization ? { authorization } : {}) } });

  it("answers rate_limited with a retry hint, without checking the token, only to the failing client", async () => {
    for (let i = 0; i < 5; i++) await expectApiError(call("10.0.0.1"), "unauthorized"); // no token: not counted
    for (let i = 0; i < 2; i++) await expectApiError(call("10.0.0.1", `Bearer bad${i}`), "unauthorized", Code.Unauthenticated);
    await call("10.0.0.1", "Bearer good"); // successes are not counted, and reset nothing
    await expectApiError(call("10.0.0.1", "Bearer bad2"), "unauthorized", Code.Unauthenticated);
    checked = 0;
    t = 15_000;
    const err = await expectApiError(call("10.0.0.1", "Bearer good"), "rate_limited", Code.ResourceExhausted);
    expect(checked, "the token is not looked at").toBe(0);
    expect(err.metadata.get("retry-after")).toBe("45");
    expect(err.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds).toBe(45n);
    await call("10.0.0.2", "Bearer good");
    t = 60_000;
    await call("10.0.0.1", "Bearer good");
  });
});

/** One HTTP/1.1 request from `localAddress` (a loopback alias: the whole 127/8 reaches the gateway). */
function h1(url: string, path: string, localAddress: string, headers: Record<string, string>, body?: string) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.request(`${url}${path}`, { method: body === undefined ? "GET" : "POST", localAddress, headers, agent: false }, (res) => {
      let data = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (data += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** One gRPC ListSessions call on `session`; the grpc-status and retry-after of its answer. */
function grpcList(session: http2.ClientHttp2Session, token: string) {
  return new Promise<{ grpcStatus: string; retryAfter: string | undefined }>((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ":path": "/wagateway.v1.SessionService/ListSessions", "content-type": "application/grpc", te: "trailers", authorization: `Bearer ${token}` });
    let head: http2.IncomingHttpHeaders = {};
    stream.on("response", (h) => (head = h));
    stream.on("data", () => {});
    stream.on("close", () => resolve({ grpcStatus: String(head["grpc-status"] ?? ""), retryAfter: head["retry-after"] as string | undefined }));
    stream.on("trailers", (tr) => {
      head = { ...head, ...tr };
    });
    stream.on("error", reject);
    stream.end(Buffer.alloc(5));
  });
}

for (const backend of backends) {
  describe(`failed-authentication limit on a real gateway (${backend.name})`, () => {
    let gw: TestGateway;
    let key: string;
    beforeAll(async () => {
      // The configured limit (AUTH_FAILURE_LIMIT), not the default of 100.
      gw = await startTestGateway(backend, { AUTH_FAILURE_LIMIT: "25" });
      key = await gw.createKey(gw.newOrgId(), ["manage", "read"]);
    });
    afterAll(async () => gw?.close());

    it("after AUTH_FAILURE_LIMIT failed keys from one address, every protocol answers that address rate_limited; other addresses unaffected", async () => {
      const attacker = "127.0.0.3";
      for (let i = 0; i < 25; i++) {
        const r = await h1(gw.url, "/api/v1/sessions", attacker, { authorization: `Bearer wag_${randomBytes(32).toString("base64url")}` });
        expect(r.status).toBe(401);
      }
      // REST: 429 with Retry-After and the envelope; even the real key is not looked at.
      const rest = await h1(gw.url, "/api/v1/sessions", attacker, { authorization: `Bearer ${key}` });
      expect(rest.status).toBe(429);
      expect(Number(rest.headers["retry-after"])).toBeGreaterThan(0);
      expect(JSON.parse(rest.body)).toMatchObject({ error: { code: "rate_limited", details: { metadata: { retry_after_seconds: rest.headers["retry-after"] } } } });
      // Connect: 429 resource_exhausted.
      const connect = await h1(gw.url, "/wagateway.v1.SessionService/ListSessions", attacker, { authorization: `Bearer ${key}`, "content-type": "application/json" }, "{}");
      expect(connect.status).toBe(429);
      expect(JSON.parse(connect.body)).toMatchObject({ code: "resource_exhausted" });
      expect(connect.headers["retry-after"]).toBeDefined();
      // gRPC over h2c from the same address: RESOURCE_EXHAUSTED (8).
      const h2 = http2.connect(gw.url, { localAddress: attacker } as http2.ClientSessionOptions);
      try {
        const g = await grpcList(h2, key);
        expect(g).toMatchObject({ grpcStatus: "8" });
        expect(g.retryAfter).toBeDefined();
      } finally {
        h2.close();
      }
      // The same key from another address works.
      expect((await h1(gw.url, "/api/v1/sessions", "127.0.0.1", { authorization: `Bearer ${key}` })).status).toBe(200);
    });
  });
}
