import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, runCli } from "./support/gateway-process.js";
import { readyLine } from "./support/log-lines.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";
import { backends } from "./support/backends.js";
import { waitUntil } from "./support/wait.js";
import { startWaSimulator, type WaSimulator } from "./wa-sim/index.js";

/** Runs the `wa-gateway` bin (bin/wa-gateway.mjs) as a real process, reading its output as it comes. */
function startBin(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [`${repoRoot}bin/wa-gateway.mjs`, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const res = { stdout: "", stderr: "", code: undefined as number | null | undefined };
  child.stdout.on("data", (d: Buffer) => (res.stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (res.stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r((res.code = code))));
  return { child, res, exited };
}

const lines = (s: string) => s.trim().split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>);

describe.each(backends)("wa-gateway CLI against a running gateway on $name", (backend) => {
  let sim: WaSimulator;
  let gw: TestGateway;
  let env: Record<string, string>;
  beforeAll(async () => {
    sim = await startWaSimulator({ qrRefs: 6 });
    gw = await startTestGateway(backend, {
      WA_WEBSOCKET_URL: sim.url,
      WA_ROOT_PUBLIC_KEY: Buffer.from(sim.rootPublicKey).toString("base64"),
      WA_CONNECT_TIMEOUT_MS: "5000",
      WA_QR_TIMEOUT_MS: "1500",
    });
    env = { WA_GATEWAY_URL: gw.url, WA_GATEWAY_TOKEN: await gw.createKey(gw.newOrgId(), ["manage", "read"]) };
  });
  afterAll(async () => {
    await gw?.close();
    await sim?.close();
  });

  it("has --help everywhere, through the bin", async () => {
    for (const args of [["--help"], ["sessions", "--help"], ["events", "--help"], ["apikey", "--help"], ["serve", "--help"]]) {
      const r = startBin(args, {});
      expect(await r.exited, args.join(" ")).toBe(0);
      expect(r.res.stdout).toMatch(/^Usage: wa-gateway/);
    }
    const none = startBin([], {});
    expect(await none.exited).toBe(2);
  }, 90_000);

  it("serve runs the gateway until SIGTERM", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "wagw-serve-"));
    try {
      const served = startBin(["serve"], { PORT: "0", HOST: "127.0.0.1", DATA_DIR: dataDir, LOG_LEVEL: "info" });
      const url = await waitUntil("the ready line", () => readyLine(served.res.stderr)?.url, 60_000);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      expect(served.res.stdout).toMatch(/wag_/); // the first-run key, printed once
      served.child.kill("SIGTERM");
      expect(await served.exited).toBe(0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);

  it("sessions create|list|get|start|stop|logout|delete, with --protocol and --url/--token flags", async () => {
    const created = await runCli(["sessions", "create", "--label", "from the cli"], env);
    expect(created.code, created.stderr).toBe(0);
    const [session] = lines(created.stdout);
    expect(session).toMatchObject({ label: "from the cli", status: "stopped" });
    const id = session!.id as string;

    const flags = ["--url", gw.url, "--token", env.WA_GATEWAY_TOKEN!, "--protocol", "grpc"];
    const listed = await runCli(["sessions", "list", ...flags], {});
    expect(listed.code, listed.stderr).toBe(0);
    expect(lines(listed.stdout).map((s) => s.id)).toContain(id);
    const got = await runCli(["sessions", "get", id, "--protocol", "grpc-web"], env);
    expect(lines(got.stdout)[0]).toMatchObject({ id, label: "from the cli" });

    const started = await runCli(["sessions", "start", id], env);
    expect(started.code, started.stderr).toBe(0);
    expect(lines(started.stdout)[0]!.status).toMatch(/starting|scan_qr_code/);
    const stopped = await runCli(["sessions", "stop", id], env);
    expect(lines(stopped.stdout)[0]).toMatchObject({ id, status: "stopped" });
    // One JSON profile: the CLI prints exactly what REST answers (same keys, nulls, epoch-ms numbers), on every protocol.
    const rest = await (await fetch(`${gw.url}/api/v1/sessions/${id}`, { headers: { authorization: `Bearer ${env.WA_GATEWAY_TOKEN}` } })).json();
    for (const protocol of ["connect", "grpc", "grpc-web"]) {
      const again = await runCli(["sessions", "get", id, "--protocol", protocol], env);
      expect(lines(again.stdout), protocol).toEqual([rest]);
    }
    const restList = (await (await fetch(`${gw.url}/api/v1/sessions`, { headers: { authorization: `Bearer ${env.WA_GATEWAY_TOKEN}` } })).json()) as { sessions: { id: string }[] };
    const cliList = lines((await runCli(["sessions", "list"], env)).stdout);
    expect(cliList.find((s) => s.id === id)).toEqual(restList.sessions.find((s) => s.id === id));
    for (const s of cliList) expect(Object.keys(s)).toEqual(Object.keys(rest as object));
    const logout = await runCli(["sessions", "logout", id], env);
    expect(logout.code).toBe(6);
    expect(logout.stderr).toMatch(/^conflict: /);
    const deleted = await runCli(["sessions", "delete", id], env);
    expect(deleted.code, deleted.stderr).toBe(0);
    const gone = await runCli(["sessions", "get", id], env);
    expect(gone.code).toBe(3);
    expect(gone.stderr).toMatch(/^not_found: /);
  }, 90_000);

  it("fails with the contract's word and exit code", async () => {
    const unauth = await runCli(["sessions", "list"], { ...env, WA_GATEWAY_TOKEN: "wag_wrong" });
    expect([unauth.code, unauth.stderr.split(":")[0]]).toEqual([4, "unauthorized"]);
    const invalid = await runCli(["sessions", "create", "--label", "x".repeat(500)], env);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/^validation_error: [\s\S]*label/);
    const usage = await runCli(["sessions", "frobnicate"], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^validation_error: unknown command/);
    const unknownFlag = await runCli(["sessions", "list", "--nope"], env);
    expect(unknownFlag.code).toBe(2);
    const down = await runCli(["sessions", "list", "--url", "http://127.0.0.1:9"], env);
    expect([down.code, down.stderr.split(":")[0]]).toEqual([8, "unavailable"]);
    const readOnly = await gw.createKey(gw.newOrgId(), ["read"]);
    const forbidden = await runCli(["sessions", "create"], { ...env, WA_GATEWAY_TOKEN: readOnly });
    expect([forbidden.code, forbidden.stderr.split(":")[0]]).toEqual([5, "forbidden"]);
  }, 90_000);

  it("sessions qr draws the QR as it rotates and exits once the phone scans; events watch is live and resumable", async () => {
    const created = await runCli(["sessions", "create", "--label", "qr", "--start"], env);
    const id = lines(created.stdout)[0]!.id as string;
    const watch = startBin(["events", "watch", "--session", id, "--type", "session.status"], env);
    const qr = startBin(["sessions", "qr", id], env);
    // Two different refs: the drawing is refreshed as the QR rotates.
    const refs = await waitUntil("two QR refs from the CLI", () => {
      const found = [...new Set([...qr.res.stdout.matchAll(/^ref: (.+)$/gm)].map((m) => m[1]!))];
      return found.length >= 2 ? found : undefined;
    }, 30_000);
    expect(qr.res.stdout).toMatch(/[▀▄█]/); // drawn with block characters
    await sim.scanQr(refs.at(-1)!, { phoneNumber: "15550001234" });
    expect(await qr.exited, qr.res.stderr).toBe(0);
    expect(qr.res.stderr).toMatch(/paired/);

    await waitUntil("working in events watch", () => (/"working"/.test(watch.res.stdout) ? true : undefined), 20_000);
    watch.child.kill("SIGTERM");
    expect(await watch.exited).toBe(0);
    const seen = lines(watch.res.stdout);
    expect(seen.every((e) => e.type === "session.status" && e.sessionId === id)).toBe(true);

    // Resume after the first event: the rest again, nothing before it.
    const resumed = await runCli(["events", "watch", "--session", id, "--type", "session.status", "--after", seen[0]!.id as string, "--limit", String(seen.length - 1)], env);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(lines(resumed.stdout).map((e) => e.id)).toEqual(seen.slice(1).map((e) => e.id));
  }, 90_000);
});
