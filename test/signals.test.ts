import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../src/logger.js";
import { handleShutdownSignals } from "../src/shutdown-signals.js";
import { SessionStatus } from "../gen/wagateway/v1/session_pb.js";
import { SessionService } from "../gen/wagateway/v1/session_service_pb.js";
import { backends } from "./support/backends.js";
import { type GatewayProcess, runCli, spawnGateway } from "./support/gateway-process.js";
import { logsWithMsg } from "./support/log-lines.js";
import { alive, npmStart } from "./support/npm-start.js";
import { createScratchDatabase, type ScratchDatabase } from "./support/scratch-database.js";
import { clientFor, transportCases } from "./support/transports.js";
import { waitForStatus, waitUntil } from "./support/wait.js";
import { startWaSimulator, type WaSimulator } from "./wa-sim/index.js";

const pgBackend = backends.find((b) => b.name === "postgres");
const grpc = transportCases[0]!;

/**
 * Runs per way of signalling. The issue asks for 20; `SIGNAL_RUNS` lowers it on a machine too busy for
 * 80 gateway starts (each run is a real `npm start` of the compiled gateway, three at a time).
 */
const runs = Number(process.env.SIGNAL_RUNS ?? 20);
const concurrency = 3;

type Target = "process group" | "npm start pid" | "gateway pid";
const ways: { target: Target; signal: NodeJS.Signals }[] = [
  { target: "process group", signal: "SIGTERM" },
  { target: "npm start pid", signal: "SIGTERM" },
  { target: "gateway pid", signal: "SIGTERM" },
  { target: "process group", signal: "SIGINT" }, // Ctrl-C in the terminal running `npm start`
];

const count = (text: string, msg: string) => logsWithMsg(text, msg).length;

describe("the first shutdown signal drains once; repeats do not cut it short", () => {
  it("ignores repeated signals, and a second SIGINT forces the exit only after the grace interval", async () => {
    const exits: number[] = [];
    let finish!: () => void;
    const stopped = new Promise<void>((r) => (finish = r));
    let stops = 0;
    const dispose = handleShutdownSignals({
      stop: () => {
        stops++;
        return stopped;
      },
      log: createLogger("error"),
      forceAfterMs: 300,
      exit: ((code: number) => void exits.push(code)) as (code: number) => never,
    });
    try {
      process.emit("SIGTERM", "SIGTERM");
      process.emit("SIGINT", "SIGINT");
      process.emit("SIGTERM", "SIGTERM");
      expect(stops).toBe(1);
      expect(exits).toEqual([]); // the repeats within the grace interval change nothing
      await new Promise((r) => setTimeout(r, 350));
      process.emit("SIGTERM", "SIGTERM"); // a late SIGTERM still waits for the drain
      expect(exits).toEqual([]);
      process.emit("SIGINT", "SIGINT"); // a deliberate second interrupt
      expect(exits).toEqual([130]);
      finish();
      await stopped;
      await new Promise((r) => setImmediate(r));
      expect(stops).toBe(1);
    } finally {
      dispose();
    }
  });
});

describe("signals to a gateway run by `npm start` (compiled)", { timeout: 900_000 }, () => {
  let scratch: ScratchDatabase | undefined;
  const dirs: string[] = [];
  beforeAll(async () => {
    if (pgBackend) scratch = await createScratchDatabase(pgBackend.databaseUrl!);
  });
  afterAll(async () => {
    await scratch?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  for (const way of ways) {
    it(`${way.signal} to the ${way.target}: ${runs} runs → ${runs} graceful stops (exit 0), nothing left running`, async () => {
      const slots = Array.from({ length: Math.min(concurrency, runs) }, (_, slot) => {
        // On PGlite each slot has its own data directory (one process per directory); PostgreSQL is shared.
        const dir = mkdtempSync(join(tmpdir(), "wagw-sig-"));
        dirs.push(dir);
        return { slot, dir };
      });
      const failures: string[] = [];
      let next = 0;
      let graceful = 0;
      await Promise.all(
        slots.map(async ({ slot, dir }) => {
          for (let i = next++; i < runs; i = next++) {
            const env: Record<string, string> = scratch ? { DATABASE_URL: scratch.url, GATEWAY_ID: `sig-${way.target.split(" ")[0]}-${way.signal}-${i}` } : { DATA_DIR: dir };
            const p = await npmStart(env);
            const pgid = p.npm.pid!;
            const target = way.target === "process group" ? -pgid : way.target === "npm start pid" ? pgid : p.gatewayPid;
            process.kill(target, way.signal);
            const { code, signal } = await p.closed;
            const log = p.stderr();
            const problems = [
              code !== 0 || signal !== null ? `npm exited with ${code ?? signal}` : "",
              count(log, "shutting down") !== 1 ? `${count(log, "shutting down")} "shutting down" lines` : "",
              count(log, "stopped") !== 1 ? `${count(log, "stopped")} "stopped" lines` : "",
              log.includes("exiting now") ? "the drain was cut short" : "",
              alive(p.gatewayPid) ? `gateway pid ${p.gatewayPid} still running` : "",
              alive(-pgid) ? `process group ${pgid} not empty` : "",
            ].filter(Boolean);
            if (problems.length) {
              failures.push(`run ${i} (slot ${slot}): ${problems.join("; ")}\n${log}`);
              if (alive(-pgid)) process.kill(-pgid, "SIGKILL");
            } else graceful++;
          }
        }),
      );
      expect(failures).toEqual([]);
      expect(graceful).toBe(runs);
    });
  }
});

describe.runIf(pgBackend)("Ctrl-C on `npm start` of one of two gateways on PostgreSQL", { timeout: 300_000 }, () => {
  let sim: WaSimulator;
  let scratch: ScratchDatabase;
  let db: pg.Client;
  let stay: GatewayProcess | undefined;

  beforeAll(async () => {
    sim = await startWaSimulator();
    scratch = await createScratchDatabase(pgBackend!.databaseUrl!);
    db = new pg.Client({ connectionString: scratch.url });
    await db.connect();
  });
  afterAll(async () => {
    await stay?.stop("SIGKILL").catch(() => {});
    await db?.end();
    await sim?.close();
    await scratch?.drop();
  });

  it("the drained gateway's sessions are recorded as handed over, none taken over as after a crash", async () => {
    const env = (name: string) => ({
      DATABASE_URL: scratch.url,
      GATEWAY_ID: name,
      WA_WEBSOCKET_URL: sim.url,
      WA_ROOT_PUBLIC_KEY: Buffer.from(sim.rootPublicKey).toString("base64"),
      WA_SCAN_MS: "500",
      LEASE_TTL_MS: "3000",
      WA_RECONNECT_BASE_MS: "50",
      WA_RECONNECT_MAX_MS: "500",
      WA_LOG_LEVEL: "error",
    });
    stay = await spawnGateway(env("gw-stay"));
    const leaving = await npmStart(env("gw-leave"));
    const key = (await runCli(["apikey", "create", "--org", "org_sig", "--name", "t", "--permissions", "manage,read"], { DATABASE_URL: scratch.url })).stdout.trim();
    const client = clientFor(SessionService, grpc, stay.url, key);
    for (let i = 0; i < 6; i++) {
      const { session } = await client.createSession({ start: true, label: `s${i}` });
      const id = session!.id;
      await waitForStatus(client, id, SessionStatus.SCAN_QR_CODE);
      await sim.scanQr((await client.getQrCode({ session: id })).qr, { phoneNumber: `1555030${String(i).padStart(4, "0")}` });
      await waitForStatus(client, id, SessionStatus.WORKING);
    }
    const moving = await waitUntil("gw-leave to hold sessions", async () => {
      const { sessions } = await client.listSessions({});
      const ids = sessions.filter((s) => s.gatewayId === "gw-leave" && s.status === SessionStatus.WORKING).map((s) => s.id);
      return ids.length >= 2 ? ids : undefined;
    }, 60_000);
    const t0 = new Date();
    process.kill(-leaving.npm.pid!, "SIGINT");
    expect(await leaving.closed).toEqual({ code: 0, signal: null });
    expect(count(leaving.stderr(), "shutting down")).toBe(1);
    expect(alive(-leaving.npm.pid!)).toBe(false);
    await waitUntil("the moved sessions working on gw-stay", async () => {
      const { sessions } = await client.listSessions({});
      const mine = sessions.filter((s) => moving.includes(s.id));
      return mine.every((s) => s.status === SessionStatus.WORKING && s.gatewayId === "gw-stay") ? true : undefined;
    }, 30_000);
    const { rows } = await db.query<{ session_id: string; type: string; data: { reason?: string } }>(
      "select session_id, type, data from events where session_id = any($1) and occurred_at >= $2 order by id",
      [moving, t0],
    );
    for (const id of moving) {
      const closes = rows.filter((e) => e.session_id === id && e.type === "connection.close");
      expect(closes.map((e) => e.data.reason), id).toEqual(["handover"]);
    }
    expect(rows.filter((e) => e.type === "auth.qr")).toEqual([]);
  });
});
