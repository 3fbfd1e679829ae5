import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGatewayClient, errorReason } from "../src/client/index.js";
import { backends } from "./support/backends.js";
import { spawnGateway } from "./support/gateway-process.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";
import { waitUntil } from "./support/wait.js";

/** The value of one series in a Prometheus text document (undefined when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[3] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[4]);
  }
  return undefined;
}

describe.each(backends)("metrics and request ids on $name", (backend) => {
  let gw: TestGateway;
  let token: string;
  beforeAll(async () => {
    gw = await startTestGateway(backend);
    token = await gw.createKey(gw.newOrgId(), ["manage", "read"]);
  });
  afterAll(() => gw?.close());
  const scrape = async () => {
    const res = await fetch(`${gw.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };

  it("counts requests by procedure, protocol and code, with latency histograms", async () => {
    const proc = "wagateway.v1.SessionService/ListSessions";
    for (const protocol of ["grpc", "connect", "grpc-web"] as const) {
      await createGatewayClient({ baseUrl: gw.url, token, protocol }).sessions.listSessions({});
    }
    const rest = await fetch(`${gw.url}/api/v1/sessions`, { headers: { authorization: `Bearer ${token}` } });
    expect(rest.status).toBe(200);
    const anon = createGatewayClient({ baseUrl: gw.url, protocol: "grpc" });
    expect(errorReason(await anon.sessions.listSessions({}).catch((e: unknown) => e))).toBe("unauthorized");

    const text = await scrape();
    for (const protocol of ["grpc", "connect", "grpc-web", "rest"]) {
      expect(sample(text, "wagateway_rpc_requests_total", { procedure: proc, protocol, code: "ok" }), protocol).toBeGreaterThanOrEqual(1);
      expect(sample(text, "wagateway_rpc_duration_seconds_count", { procedure: proc, protocol })).toBeGreaterThanOrEqual(1);
    }
    expect(sample(text, "wagateway_rpc_requests_total", { procedure: proc, protocol: "grpc", code: "unauthenticated" })).toBe(1);
    expect(sample(text, "wagateway_rpc_duration_seconds_bucket", { procedure: proc, protocol: "grpc", le: "+Inf" })).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/# TYPE wagateway_rpc_duration_seconds histogram/);
  });

  it("reports sessions by status and event-stream subscribers", async () => {
    const client = createGatewayClient({ baseUrl: gw.url, token, protocol: "grpc" });
    await client.sessions.createSession({ label: "counted" });
    expect(sample(await scrape(), "wagateway_sessions", { status: "stopped" })).toBeGreaterThanOrEqual(1);
    const ac = new AbortController();
    const it = client.sessions.watchEvents({}, { signal: ac.signal })[Symbol.asyncIterator]();
    await it.next();
    expect(sample(await scrape(), "wagateway_event_subscribers")).toBe(1);
    ac.abort();
    await it.return?.();
    await waitUntil("the subscriber to go", async () => (sample(await scrape(), "wagateway_event_subscribers") === 0 ? true : undefined), 5_000);
    const text = await scrape();
    expect(sample(text, "wagateway_rpc_requests_total", { procedure: "wagateway.v1.SessionService/WatchEvents", protocol: "grpc" })).toBe(1);
  });

  it("echoes x-request-id (the caller's when safe, else a new one) on every protocol", async () => {
    const mine = await fetch(`${gw.url}/api/v1/sessions`, { headers: { authorization: `Bearer ${token}`, "x-request-id": "req-123" } });
    expect(mine.headers.get("x-request-id")).toBe("req-123");
    const unsafe = await fetch(`${gw.url}/api/v1/sessions`, { headers: { authorization: `Bearer ${token}`, "x-request-id": "bad id\u00ff" } });
    expect(unsafe.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect((await fetch(`${gw.url}/healthz`)).headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    let seen: string | null = null;
    const client = createGatewayClient({ baseUrl: gw.url, token, protocol: "grpc" });
    await client.sessions.listSessions({}, { onHeader: (h) => (seen = h.get("x-request-id")) });
    expect(seen).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("logs", () => {
  it("carry a request id per call and never a token or secret", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "wagw-logs-"));
    const gw = await spawnGateway({ DATA_DIR: dataDir, LOG_LEVEL: "debug", WA_WEBSOCKET_URL: "ws://127.0.0.1:9/ws/chat" });
    try {
      // The first-run banner (stdout) may arrive after the "ready" line (stderr).
      const token = await waitUntil("the first-run API key", () => /API key:\s+(wag_[A-Za-z0-9_-]{43})/.exec(gw.stdout())?.[1], 10_000);
      const client = createGatewayClient({ baseUrl: gw.url, token, protocol: "connect" });
      const { secret } = await client.apiKeys.createApiKey({ name: "logged?", permissions: [1] });
      await client.sessions.listSessions({}, { headers: { "x-request-id": "trace-me-1" } });
      await fetch(`${gw.url}/api/v1/sessions`, { headers: { authorization: `Bearer ${secret}` } });
      await createGatewayClient({ baseUrl: gw.url, token: "wag_not_a_real_key_but_secret", protocol: "grpc" }).sessions.listSessions({}).catch(() => {});
      await waitUntil("the access log line", () => (gw.stderr().includes("trace-me-1") ? true : undefined), 5_000);
      const lines = gw.stderr().trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.find((l) => l.requestId === "trace-me-1")).toMatchObject({ msg: "rpc", procedure: "wagateway.v1.SessionService/ListSessions", code: "ok" });
      expect(gw.stderr()).not.toContain(token);
      expect(gw.stderr()).not.toContain(secret);
      expect(gw.stderr()).not.toContain("wag_not_a_real_key_but_secret");
      expect(gw.stderr()).not.toMatch(/authorization/i);
    } finally {
      await gw.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
