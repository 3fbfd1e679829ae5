import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { SessionStatus } from "../gen/wagateway/v1/session_pb.js";
import { SessionService } from "../gen/wagateway/v1/session_service_pb.js";
import { backends } from "./support/backends.js";
import { expectApiError } from "./support/expect-error.js";
import { type GatewayProcess, runCli, spawnGateway } from "./support/gateway-process.js";
import { clientFor, transportCases } from "./support/transports.js";
import { waitForStatus, waitUntil } from "./support/wait.js";
import { startWaSimulator, type WaSimulator } from "./wa-sim/index.js";

const pgBackend = backends.find((b) => b.name === "postgres");
const grpc = transportCases[0]!;

describe.runIf(pgBackend)("two gateway processes on one PostgreSQL", { timeout: 180_000 }, () => {
  let sim: WaSimulator;
  let dbUrl: string;
  let dbName: string;
  const admin = () => new pg.Client({ connectionString: pgBackend!.databaseUrl });
  const procs: GatewayProcess[] = [];

  beforeAll(async () => {
    sim = await startWaSimulator();
    dbName = `wagw_failover_${Date.now()}_${process.pid}`;
    const c = admin();
    await c.connect();
    await c.query(`create database ${dbName}`);
    await c.end();
    const u = new URL(pgBackend!.databaseUrl!);
    u.pathname = `/${dbName}`;
    dbUrl = u.toString();
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop("SIGKILL").catch(() => {})));
    await sim?.close();
    const c = admin();
    await c.connect();
    await c.query(`drop database if exists ${dbName} with (force)`);
    await c.end();
  });

  const env = (id: string) => ({
    DATABASE_URL: dbUrl,
    GATEWAY_ID: id,
    WA_WEBSOCKET_URL: sim.url,
    WA_ROOT_PUBLIC_KEY: Buffer.from(sim.rootPublicKey).toString("base64"),
    WA_SCAN_MS: "300",
    WA_RECONNECT_BASE_MS: "50",
    WA_RECONNECT_MAX_MS: "500",
  });

  it("runs each session in exactly one process and fails over on SIGKILL without re-pairing", async () => {
    const a = await spawnGateway(env("gw-a"));
    procs.push(a);
    const created = await runCli(["apikey", "create", "--org", "org_failover", "--name", "t", "--permissions", "manage,read"], { DATABASE_URL: dbUrl });
    const key = created.stdout.trim();
    const viaA = clientFor(SessionService, grpc, a.url, key);

    const phones = ["15550100001", "15550100002", "15550100003"];
    const ids: string[] = [];
    for (const phone of phones) {
      const { session } = await viaA.createSession({ start: true });
      const id = session!.id;
      ids.push(id);
      await waitForStatus(viaA, id, SessionStatus.SCAN_QR_CODE);
      const { qr } = await viaA.getQrCode({ session: id });
      await sim.scanQr(qr, { phoneNumber: phone });
      const working = await waitForStatus(viaA, id, SessionStatus.WORKING);
      expect(working.gatewayId).toBe("gw-a");
    }
    const b = await spawnGateway(env("gw-b"));
    procs.push(b);
    const viaB = clientFor(SessionService, grpc, b.url, key);
    // B starts no second socket for sessions A holds.
    await new Promise((r) => setTimeout(r, 1500));
    for (const phone of phones) expect(sim.liveConnections(phone)).toBe(1);
    for (const id of ids) expect((await viaB.getSession({ session: id })).session!.gatewayId).toBe("gw-a");

    // Any gateway answers GetQrCode (the non-holder reads the QR the holder logged);
    // a pairing code must be asked of the holder, and the error names it.
    const { session: pending } = await viaA.createSession({ start: true });
    const waiting = await waitForStatus(viaA, pending!.id, SessionStatus.SCAN_QR_CODE);
    const holder = waiting.gatewayId!;
    const [viaHolder, viaOther] = holder === "gw-a" ? [viaA, viaB] : [viaB, viaA];
    const qrOther = await viaOther.getQrCode({ session: pending!.id });
    expect(qrOther.qr).toBe((await viaHolder.getQrCode({ session: pending!.id })).qr);
    const err = await expectApiError(viaOther.requestPairingCode({ session: pending!.id, phoneNumber: "15550100009" }), "conflict");
    expect(err.rawMessage).toContain(holder);
    await viaHolder.stopSession({ session: pending!.id });

    await a.stop("SIGKILL");
    for (const id of ids) {
      const s = await waitForStatus(viaB, id, SessionStatus.WORKING, 60_000);
      await waitUntil(`session ${id} held by gw-b`, async () => ((await viaB.getSession({ session: id })).session!.gatewayId === "gw-b" ? true : undefined));
      expect(s.phoneNumber).toBeDefined();
    }
    for (const phone of phones) {
      expect(sim.maxConcurrent(phone)).toBe(1);
      expect(sim.totalLogins(phone)).toBe(2);
    }
  });
});
