import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../gen/grpc/health/v1/health_pb.js";
import { errorReason } from "../src/client/index.js";
import { backends } from "./support/backends.js";
import { repoRoot } from "./support/gateway-process.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";

const run = promisify(execFile);

/** Runs `buf curl` (the npm-installed binary) and returns stdout. */
async function bufCurl(args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [`${repoRoot}node_modules/@bufbuild/buf/bin/buf`, "curl", ...args], { cwd: repoRoot, timeout: 30_000 });
  return stdout;
}

describe.each(backends)("reflection and health on $name", (backend) => {
  let gw: TestGateway;
  let token: string;
  beforeAll(async () => {
    gw = await startTestGateway(backend);
    token = await gw.createKey(gw.newOrgId(), ["manage", "read"]);
  });
  afterAll(() => gw?.close());

  it.each(["grpc-v1", "grpc-v1alpha"])("buf curl --list-methods by reflection (%s)", async (reflectProtocol) => {
    const out = await bufCurl(["--protocol", "grpc", "--http2-prior-knowledge", "--reflect-protocol", reflectProtocol, "--list-methods", gw.url]);
    const methods = out.trim().split("\n");
    expect(methods).toEqual(expect.arrayContaining([
      "wagateway.v1.SessionService/CreateSession",
      "wagateway.v1.SessionService/WatchEvents",
      "wagateway.v1.ApiKeyService/ListApiKeys",
      "grpc.health.v1.Health/Check",
      "grpc.health.v1.Health/Watch",
      "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    ]));
    const services = (await bufCurl(["--protocol", "grpc", "--http2-prior-knowledge", "--list-services", gw.url])).trim().split("\n");
    expect(services).toContain("grpc.reflection.v1alpha.ServerReflection");
  });

  it("calls the contract with no schema but reflection", async () => {
    const created = JSON.parse(await bufCurl([
      "--protocol", "grpc", "--http2-prior-knowledge",
      "-H", `Authorization: Bearer ${token}`,
      "-d", '{"label":"by reflection"}',
      `${gw.url}/wagateway.v1.SessionService/CreateSession`,
    ])) as { session: { id: string; label: string; status: string } };
    expect(created.session).toMatchObject({ label: "by reflection", status: "SESSION_STATUS_STOPPED" });
    const listed = JSON.parse(await bufCurl([
      "--protocol", "grpc", "--http2-prior-knowledge", "-H", `Authorization: Bearer ${token}`,
      `${gw.url}/wagateway.v1.SessionService/ListSessions`,
    ])) as { sessions: { id: string }[] };
    expect(listed.sessions.map((s) => s.id)).toContain(created.session.id);
    const health = JSON.parse(await bufCurl(["--protocol", "grpc", "--http2-prior-knowledge", `${gw.url}/grpc.health.v1.Health/Check`])) as unknown;
    expect(health).toEqual({ status: "SERVING" });
  });

  it("health Check and Watch are public; unknown services are not_found / SERVICE_UNKNOWN", async () => {
    const health = createClient(Health, createGrpcTransport({ baseUrl: gw.url }));
    expect((await health.check({})).status).toBe(Status.SERVING);
    expect((await health.check({ service: "wagateway.v1.SessionService" })).status).toBe(Status.SERVING);
    expect(errorReason(await health.check({ service: "nope.v1.Nope" }).catch((e: unknown) => e))).toBe("not_found");
    const ac = new AbortController();
    const watch = health.watch({ service: "nope.v1.Nope" }, { signal: ac.signal })[Symbol.asyncIterator]();
    expect((await watch.next()).value?.status).toBe(Status.SERVICE_UNKNOWN);
    ac.abort();
    await watch.return?.();
  });

  it("GET /healthz and /readyz", async () => {
    const live = await fetch(`${gw.url}/healthz`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: "ok" });
    const ready = await fetch(`${gw.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready", database: "reachable", migrations: "applied" });
  });
});

describe("health reflects the database", () => {
  it("Watch goes SERVING → NOT_SERVING and /readyz 503 when the database is gone", async () => {
    const gw = await startTestGateway(backends[0]!);
    try {
      const health = createClient(Health, createGrpcTransport({ baseUrl: gw.url }));
      const ac = new AbortController();
      const watch = health.watch({}, { signal: ac.signal })[Symbol.asyncIterator]();
      expect((await watch.next()).value?.status).toBe(Status.SERVING);
      await gw.db.destroy();
      expect((await watch.next()).value?.status).toBe(Status.NOT_SERVING);
      expect((await health.check({})).status).toBe(Status.NOT_SERVING);
      const ready = await fetch(`${gw.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: "not_ready", database: "unreachable" });
      expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
      ac.abort();
      await watch.return?.();
    } finally {
      await gw.close().catch(() => {});
    }
  }, 30_000);
});
