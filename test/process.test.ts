import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SessionStatus } from "../gen/wagateway/v1/session_pb.js";
import { SessionService } from "../gen/wagateway/v1/session_service_pb.js";
import { expectApiError } from "./support/expect-error.js";
import { runCli, spawnGateway } from "./support/gateway-process.js";
import { findLog } from "./support/log-lines.js";
import { clientFor, transportCases } from "./support/transports.js";

const grpc = transportCases[0]!;

describe("the gateway as a real process on embedded PGlite", { timeout: 120_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), "wagw-proc-"));
  const env = { DATA_DIR: dataDir };
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  let firstKey = "";
  let sessionId = "";

  it("prints a first-run admin key once, and CreateSession with it answers over plain HTTP/1.1", async () => {
    const gw = await spawnGateway(env);
    try {
      firstKey = (await gw.waitForStdout(/API key:\s+(wag_[A-Za-z0-9_-]{43})/))[1]!;
      await gw.waitForStdout(/organization:\s+org_/);
      expect(gw.stdout()).toMatch(/organization:\s+org_[0-9A-Z]{26}/);
      const res = await fetch(`${gw.url}/wagateway.v1.SessionService/CreateSession`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${firstKey}` },
        body: JSON.stringify({ label: "survives restarts" }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { session: { id: string; status: string } };
      expect(body.session.status).toBe("SESSION_STATUS_STOPPED");
      sessionId = body.session.id;
    } finally {
      expect(await gw.stop("SIGTERM")).toBe(0);
    }
  });

  it("keeps its data across a restart and never prints the key again", async () => {
    const gw = await spawnGateway(env);
    try {
      const client = clientFor(SessionService, grpc, gw.url, firstKey);
      const { session } = await client.getSession({ session: sessionId });
      expect(session).toMatchObject({ id: sessionId, label: "survives restarts", status: SessionStatus.STOPPED });
    } finally {
      expect(await gw.stop("SIGINT")).toBe(0);
    }
    expect(findLog(gw.stderr(), "stopped")).toBeDefined();
    expect(gw.stdout()).not.toContain("wag_"); // read to the end: the process has closed its pipes
  });

  it("CLI: apikey create prints the secret alone on stdout; list and revoke work on the database", async () => {
    const created = await runCli(["apikey", "create", "--org", "org_cli", "--name", "script", "--permissions", "manage,read"], env);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^wag_[A-Za-z0-9_-]{43}\n$/);
    const secret = created.stdout.trim();

    const listed = await runCli(["apikey", "list", "--org", "org_cli"], env);
    expect(listed.code).toBe(0);
    const rows = listed.stdout.trim().split("\n").map((l) => JSON.parse(l) as { id: string; permissions: string[]; createdAt: number });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.permissions).toEqual(["manage", "read"]);
    expect(typeof rows[0]!.createdAt).toBe("number"); // epoch ms, as REST
    expect(listed.stdout).not.toMatch(/hash|key_hash/);
    expect(listed.stdout).not.toContain(secret);

    const bad = await runCli(["apikey", "create", "--org", "org_cli", "--name", "x", "--permissions", "root"], env);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toContain("validation_error");

    // The key works against a gateway started on the same database …
    const gw = await spawnGateway(env);
    try {
      const client = clientFor(SessionService, grpc, gw.url, secret);
      const { session } = await client.createSession({});
      expect(session!.organizationId).toBe("org_cli");
      // The CLI's line is exactly REST's item: same keys, nulls and numbers.
      const rest = (await (await fetch(`${gw.url}/api/v1/api-keys`, { headers: { authorization: `Bearer ${secret}` } })).json()) as { apiKeys: Record<string, unknown>[] };
      expect(rest.apiKeys.map((k) => Object.keys(k))).toEqual(rows.map((k) => Object.keys(k)));
      // The key has been used since the CLI listed it: all but lastUsedAt is the same.
      const unused = (k: Record<string, unknown>) => ({ ...k, lastUsedAt: undefined });
      expect(rest.apiKeys.map(unused)).toEqual(rows.map((k) => unused(k as unknown as Record<string, unknown>)));
    } finally {
      await gw.stop();
    }
    // … until revoked.
    const revoked = await runCli(["apikey", "revoke", "--org", "org_cli", rows[0]!.id], env);
    expect(revoked.code, revoked.stderr).toBe(0);
    const missing = await runCli(["apikey", "revoke", "--org", "org_other", rows[0]!.id], env);
    expect(missing.code).toBe(3);
    const gw2 = await spawnGateway(env);
    try {
      await expectApiError(clientFor(SessionService, grpc, gw2.url, secret).listSessions({}), "unauthorized");
    } finally {
      await gw2.stop();
    }
  });

  it("embedded mode is one process: a second gateway or the CLI on the same DATA_DIR is refused clearly", async () => {
    const gw = await spawnGateway(env);
    try {
      await expect(spawnGateway(env, 20_000)).rejects.toThrow(/in use by process \d+.*DATABASE_URL/s);
      const cli = await runCli(["apikey", "list", "--org", "org_cli"], env);
      expect(cli.code).toBe(6);
      expect(cli.stderr).toMatch(/^conflict: the embedded database in .* is in use by process/);
    } finally {
      expect(await gw.stop()).toBe(0);
    }
    // Released on exit: the CLI works again.
    expect((await runCli(["apikey", "list", "--org", "org_cli"], env)).code).toBe(0);
  });

  it("refuses bad configuration with a clear message", async () => {
    await expect(spawnGateway({ ...env, PORT: "eighty" }, 20_000)).rejects.toThrow(/PORT must be an integer/);
  });
});
