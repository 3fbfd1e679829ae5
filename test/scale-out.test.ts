import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { GatewayService } from "../gen/wagateway/v1/gateway_service_pb.js";
import { SessionStatus } from "../gen/wagateway/v1/session_pb.js";
import { SessionService } from "../gen/wagateway/v1/session_service_pb.js";
import { backends } from "./support/backends.js";
import { type GatewayProcess, runCli, spawnGateway } from "./support/gateway-process.js";
import { createScratchDatabase, type ScratchDatabase } from "./support/scratch-database.js";
import { clientFor, transportCases } from "./support/transports.js";
import { waitForStatus, waitUntil } from "./support/wait.js";
import { startWaSimulator, type WaSimulator } from "./wa-sim/index.js";

const pgBackend = backends.find((b) => b.name === "postgres");
const grpc = transportCases[0]!;

/** The lease bound of this suite: a paused gateway loses its sessions after this long. */
const leaseTtlMs = 3_000;
/** Reconciliation period: a crashed gateway's sessions are taken within about this long. */
const scanMs = 500;

describe.runIf(pgBackend)("three gateway processes on one PostgreSQL", { timeout: 300_000 }, () => {
  let sim: WaSimulator;
  let scratch: ScratchDatabase;
  let db: pg.Client;
  let key: string;
  const procs = new Map<string, GatewayProcess>();
  const phoneOf = new Map<string, string>();

  const env = (name: string) => ({
    DATABASE_URL: scratch.url,
    GATEWAY_ID: name,
    WA_WEBSOCKET_URL: sim.url,
    WA_ROOT_PUBLIC_KEY: Buffer.from(sim.rootPublicKey).toString("base64"),
    WA_SCAN_MS: String(scanMs),
    LEASE_TTL_MS: String(leaseTtlMs),
    WA_RECONNECT_BASE_MS: "50",
    WA_RECONNECT_MAX_MS: "500",
    WA_LOG_LEVEL: "error",
  });
  const start = async (name: string) => {
    const p = await spawnGateway(env(name));
    procs.set(name, p);
    return p;
  };
  const sessionsVia = (name: string) => clientFor(SessionService, grpc, procs.get(name)!.url, key);
  const gatewaysVia = (name: string) => clientFor(GatewayService, grpc, procs.get(name)!.url, key);
  /** Session id → gatewayId, as the rows say. */
  const holders = async (via: string) => new Map((await sessionsVia(via).listSessions({})).sessions.map((s) => [s.id, s.gatewayId ?? ""]));
  const sessionsHeldBy = async (via: string, name: string) => [...(await holders(via))].filter(([, g]) => g === name).map(([id]) => id);
  /** Waits until every session in `ids` is working on a gateway other than `gone`. */
  const allWorkingElsewhere = (via: string, ids: string[], gone: string, timeoutMs: number) =>
    waitUntil(
      `sessions of ${gone} working elsewhere`,
      async () => {
        const { sessions } = await sessionsVia(via).listSessions({});
        const mine = sessions.filter((s) => ids.includes(s.id));
        return mine.every((s) => s.status === SessionStatus.WORKING && s.gatewayId && s.gatewayId !== gone) ? mine : undefined;
      },
      timeoutMs,
    );
  const eventsSince = async (ids: string[], since: Date) =>
    (
      await db.query<{ session_id: string; type: string; data: Record<string, unknown> }>(
        "select session_id, type, data from events where session_id = any($1) and occurred_at >= $2 order by id",
        [ids, since],
      )
    ).rows;

  beforeAll(async () => {
    sim = await startWaSimulator();
    scratch = await createScratchDatabase(pgBackend!.databaseUrl!);
    db = new pg.Client({ connectionString: scratch.url });
    await db.connect();
    await Promise.all(["gw-a", "gw-b", "gw-c"].map(start));
    const created = await runCli(["apikey", "create", "--org", "org_scale", "--name", "t", "--permissions", "manage,read"], { DATABASE_URL: scratch.url });
    key = created.stdout.trim();
  });
  afterAll(async () => {
    await Promise.all(
      [...procs.values()].map(async (p) => {
        p.child.kill("SIGCONT");
        await p.stop("SIGKILL").catch(() => {});
      }),
    );
    await db?.end();
    await sim?.close();
    await scratch?.drop();
  });

  it("spreads 30 paired sessions over the three gateways", async () => {
    const names = ["gw-a", "gw-b", "gw-c"];
    const pairOne = async (i: number) => {
      const via = sessionsVia(names[i % 3]!);
      const { session } = await via.createSession({ start: true, label: `s${i}` });
      const id = session!.id;
      await waitForStatus(via, id, SessionStatus.SCAN_QR_CODE);
      const { qr } = await via.getQrCode({ session: id });
      const phone = `1555020${String(i).padStart(4, "0")}`;
      await sim.scanQr(qr, { phoneNumber: phone });
      await waitForStatus(via, id, SessionStatus.WORKING);
      phoneOf.set(id, phone);
    };
    const queue = Array.from({ length: 30 }, (_, i) => i);
    await Promise.all(Array.from({ length: 5 }, async () => {
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) await pairOne(i);
    }));
    const held = await waitUntil("an even spread", async () => {
      const { gateways } = await gatewaysVia("gw-a").listGateways({});
      return gateways.length === 3 && gateways.every((g) => g.sessions >= 9 && g.sessions <= 11) && gateways.reduce((n, g) => n + g.sessions, 0) === 30 ? gateways : undefined;
    });
    expect(held.map((g) => g.id).sort()).toEqual(names);
    expect(held.filter((g) => g.current).map((g) => g.id)).toEqual(["gw-a"]);
    // The rows name the holders the gateways report.
    const rows = await holders("gw-b");
    for (const g of held) expect([...rows.values()].filter((n) => n === g.id).length).toBe(g.sessions);
    for (const phone of phoneOf.values()) expect(sim.maxConcurrent(phone)).toBe(1);
    // The same view in /metrics.
    const metrics = await (await fetch(`${procs.get("gw-c")!.url}/metrics`)).text();
    for (const g of held) expect(metrics).toContain(`wagateway_cluster_gateway_sessions{gateway="${g.id}",instance="${g.instance}"} ${g.sessions}`);
    expect(metrics).toMatch(/wagateway_local_sessions \d+/);
  });

  it("answers a pairing-code request on a gateway that does not hold the session", async () => {
    const { session } = await sessionsVia("gw-a").createSession({ start: true, label: "paired by code" });
    const id = session!.id;
    const waiting = await waitForStatus(sessionsVia("gw-a"), id, SessionStatus.SCAN_QR_CODE);
    const other = ["gw-a", "gw-b", "gw-c"].find((n) => n !== waiting.gatewayId)!;
    const phone = "15550299999";
    const { code } = await sessionsVia(other).requestPairingCode({ session: id, phoneNumber: phone });
    expect(code).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    await sim.enterPairingCode(phone, code.replace("-", ""));
    const working = await waitForStatus(sessionsVia(other), id, SessionStatus.WORKING);
    expect(working.phoneNumber).toBe(phone);
    expect(working.gatewayId).toBe(waiting.gatewayId);
    phoneOf.set(id, phone);
    // Stop and start through a non-holder too: the holder's socket closes, then one opens again.
    await sessionsVia(other).stopSession({ session: id });
    await waitUntil("socket closed", () => (sim.liveConnections(phone) === 0 ? true : undefined));
    await sessionsVia(other).startSession({ session: id });
    await waitForStatus(sessionsVia(other), id, SessionStatus.WORKING);
    expect(sim.maxConcurrent(phone)).toBe(1);
  });

  it("SIGKILL: the dead gateway's sessions are working elsewhere with no QR and never two connections", async () => {
    const victim = "gw-a";
    const lost = await sessionsHeldBy("gw-b", victim);
    expect(lost.length).toBeGreaterThan(0);
    const t0 = new Date();
    await procs.get(victim)!.stop("SIGKILL");
    procs.delete(victim);
    // Bound: the liveness lock goes with the process, so the next round (scanMs) takes them; 20 s covers reconnects on a loaded machine.
    await allWorkingElsewhere("gw-b", lost, victim, 20_000);
    for (const id of lost) expect(sim.maxConcurrent(phoneOf.get(id)!)).toBe(1);
    const events = await eventsSince(lost, t0);
    expect(events.filter((e) => e.type === "auth.qr")).toEqual([]);
    const { gateways } = await gatewaysVia("gw-b").listGateways({});
    expect(gateways.map((g) => g.id).sort()).toEqual(["gw-b", "gw-c"]);
  });

  it("SIGSTOP past the lease: the paused gateway loses its sessions and, resumed, writes nothing for them", async () => {
    // A restarted gw-a rejoins and receives a share (rebalancing), so all three hold sessions again.
    await start("gw-a");
    await waitUntil("gw-a has a share", async () => ((await gatewaysVia("gw-b").listGateways({})).gateways.find((g) => g.id === "gw-a")?.sessions ?? 0) >= 5 ? true : undefined, 30_000);
    await waitUntil("all working", async () => ((await sessionsVia("gw-b").listSessions({})).sessions.every((s) => s.status === SessionStatus.WORKING) ? true : undefined), 30_000);
    const paused = "gw-c";
    const lost = await sessionsHeldBy("gw-b", paused);
    expect(lost.length).toBeGreaterThan(0);
    procs.get(paused)!.child.kill("SIGSTOP");
    await allWorkingElsewhere("gw-b", lost, paused, leaseTtlMs + 20_000);
    const resumedAt = new Date();
    procs.get(paused)!.child.kill("SIGCONT");
    // It rejoins under a new instance …
    await waitUntil("gw-c rejoined", async () => ((await gatewaysVia("gw-b").listGateways({})).gateways.some((g) => g.id === paused) ? true : undefined), 20_000);
    await new Promise((r) => setTimeout(r, 3_000));
    expect(procs.get(paused)!.stderr()).toContain("gateway lease lapsed");
    // … and what its old sockets saw when they woke (the simulator replaced them: 440) was never written.
    // Taken over elsewhere they work (a loaded machine may still be reconnecting them 3 s after the resume).
    const rows = await waitUntil("the taken-over sessions working", async () => {
      const r = (await sessionsVia("gw-b").listSessions({})).sessions.filter((s) => lost.includes(s.id));
      return r.every((s) => s.status === SessionStatus.WORKING) ? r : undefined;
    }, 30_000);
    for (const s of rows) {
      expect(s.status, s.id).toBe(SessionStatus.WORKING);
      expect(s.statusReason ?? "").not.toBe("conflict_replaced");
    }
    const after = await eventsSince(lost, resumedAt);
    expect(after.filter((e) => e.type === "connection.close" && e.data.code === 440)).toEqual([]);
    expect(after.filter((e) => e.type === "session.status" && (e.data.status === "stopped" || e.data.status === "failed"))).toEqual([]);
    const desired = await db.query<{ n: string }>("select count(*) as n from sessions where id = any($1) and desired_state <> 'running'", [lost]);
    expect(Number(desired.rows[0]!.n)).toBe(0);
  });

  it("SIGTERM: the draining gateway hands its sessions over with no overlap and exits cleanly", async () => {
    await waitUntil("all working", async () => ((await sessionsVia("gw-a").listSessions({})).sessions.every((s) => s.status === SessionStatus.WORKING) ? true : undefined), 30_000);
    const leaving = "gw-b";
    const moving = await waitUntil("gw-b holds sessions", async () => {
      const ids = await sessionsHeldBy("gw-a", leaving);
      return ids.length > 0 ? ids : undefined;
    }, 30_000);
    sim.resetMaxConcurrent();
    const t0 = new Date();
    const code = await procs.get(leaving)!.stop("SIGTERM");
    procs.delete(leaving);
    expect(code).toBe(0);
    await allWorkingElsewhere("gw-a", moving, leaving, 20_000);
    for (const id of moving) expect(sim.maxConcurrent(phoneOf.get(id)!), id).toBe(1);
    const events = await eventsSince(moving, t0);
    expect(events.filter((e) => e.type === "auth.qr")).toEqual([]);
    expect(events.some((e) => e.type === "connection.close" && e.data.reason === "handover")).toBe(true);
  });
});
