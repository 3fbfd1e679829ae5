import { performance } from "node:perf_hooks";
import { Code, ConnectError } from "@connectrpc/connect";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { SessionService } from "../../gen/wagateway/v1/session_service_pb.js";
import { sleep } from "../../bench/process-stats.js";
import { backends } from "../support/backends.js";
import { clientFor, transportCases } from "../support/transports.js";
import { type ChildGateway, startChildGateway } from "./support/child-gateway.js";
import { checkConsistency } from "./support/consistency.js";
import { localCluster, pgCtl } from "./support/pg-cluster.js";
import { n, summary } from "./support/summary.js";

const postgres = backends.find((b) => b.name === "postgres");
const outageMs = 3_000;

interface Outcome {
  at: number;
  ms: number;
  kind: "ok" | "unavailable" | "other";
  detail?: string;
}

/**
 * Restarts the PostgreSQL server under load (stop, 3 s down, start), only when
 * TEST_DATABASE_URL points at the local cluster: calls during the outage fail
 * fast with `unavailable` (503), the same gateway process recovers, and every
 * row is whole.
 */
describe.skipIf(!postgres || !localCluster())("database faults (PostgreSQL restart under load)", () => {
  let gw: ChildGateway;
  afterAll(async () => {
    try {
      pgCtl("start");
    } catch {
      /* already running */
    }
    await gw?.close();
  });

  it("fails fast with unavailable during the outage, recovers by itself, loses or half-writes nothing", { timeout: 120_000 }, async () => {
    gw = await startChildGateway(postgres!, { API_KEY_CACHE_TTL_MS: "1000" });
    const url = gw.proc.url;
    const pid = gw.proc.child.pid;
    const grpc = clientFor(SessionService, transportCases[0]!, url, gw.keys.a);
    const connect = clientFor(SessionService, transportCases[1]!, url, gw.keys.a);
    const outcomes: Outcome[] = [];
    const created: string[] = [];
    let stop = false;
    const t0 = performance.now();
    const record = async (p: Promise<string | undefined>) => {
      const at = performance.now() - t0;
      try {
        const id = await p;
        if (id) created.push(id);
        outcomes.push({ at, ms: performance.now() - t0 - at, kind: "ok" });
      } catch (err) {
        const ms = performance.now() - t0 - at;
        const unavailable = (err instanceof ConnectError && err.code === Code.Unavailable) || (err instanceof RestStatus && err.status === 503 && err.code === "unavailable");
        outcomes.push({ at, ms, kind: unavailable ? "unavailable" : "other", detail: err instanceof Error ? err.message : String(err) });
        await sleep(20); // a failing client backs off a little
      }
    };
    const workers = Array.from({ length: 12 }, async (_, i) => {
      while (!stop) {
        if (i % 3 === 0) await record(restCreate(url, gw.keys.a));
        else if (i % 3 === 1) await record(grpc.createSession({ label: "fault" }).then((r) => r.session?.id));
        else await record(connect.listSessions({}).then(() => undefined));
      }
    });

    await sleep(2_000);
    const downAt = performance.now() - t0;
    pgCtl("stop");
    await sleep(outageMs);
    const upAt = performance.now() - t0;
    pgCtl("start");
    // Recovery: the same process answers again once the server is back.
    let recoveredAt = NaN;
    for (let i = 0; i < 300 && Number.isNaN(recoveredAt); i++) {
      try {
        await grpc.listSessions({});
        recoveredAt = performance.now() - t0;
      } catch {
        await sleep(100);
      }
    }
    await sleep(2_000);
    stop = true;
    await Promise.all(workers);

    const during = outcomes.filter((o) => o.at >= downAt && o.at < upAt);
    const failures = outcomes.filter((o) => o.kind !== "ok");
    const other = outcomes.filter((o) => o.kind === "other");
    const afterRecovery = outcomes.filter((o) => o.at > recoveredAt + 500);
    const failMs = failures.map((o) => o.ms).sort((a, b) => a - b);
    const q = (p: number) => failMs[Math.min(failMs.length - 1, Math.max(0, Math.ceil((p / 100) * failMs.length) - 1))] ?? 0;
    const slowest = q(100);
    const db = await gw.openDb();
    const c = await checkConsistency(db, gw.orgs.a, created).finally(() => db.destroy());
    summary(
      `database faults: PostgreSQL down ${outageMs} ms under ${n(outcomes.length)} calls; ${n(failures.length)} failed, all unavailable, in p50 ${q(50).toFixed(0)} ms / p90 ${q(90).toFixed(0)} ms (slowest ${slowest.toFixed(0)} ms, while the server was starting), ` +
        `${other.length} other errors; recovered ${(recoveredAt - upAt).toFixed(0)} ms after start without a gateway restart; ` +
        `${n(created.length)} acknowledged creates present, ${c.sessions} rows whole, each with its event`,
    );
    expect(gw.proc.child.pid).toBe(pid);
    expect(gw.proc.child.exitCode).toBeNull();
    expect(other.map((o) => o.detail)).toEqual([]);
    expect(during.some((o) => o.kind === "unavailable")).toBe(true);
    // Fail fast: most calls fail at once; none waits longer than the pool's 5 s connect timeout.
    expect(q(50)).toBeLessThan(1_000);
    expect(slowest).toBeLessThan(6_000);
    expect(Number.isNaN(recoveredAt)).toBe(false);
    expect(afterRecovery.filter((o) => o.kind !== "ok")).toEqual([]);
    expect(c).toMatchObject({ missing: [], withoutCreatedEvent: [], orphanEvents: [], incomplete: [] });
  });
});

/**
 * PostgreSQL refusing new connections (its connection limit reached: what a
 * busy shared server answers with "too many clients"): calls that need a new
 * connection fail with `unavailable` (503), never `internal` (500), and the
 * gateway answers again as soon as connections are allowed.
 */
describe.skipIf(!postgres)("database faults (connection limit reached)", () => {
  const base = new URL(postgres?.databaseUrl ?? "postgres://localhost/x");
  const suffix = `${Date.now().toString(36)}_${process.pid}`;
  const role = `wagw_limited_${suffix}`;
  const dbName = `${base.pathname.slice(1)}_limited_${suffix}`;
  const asAdmin = async (...statements: string[]) => {
    const c = new pg.Client({ connectionString: postgres!.databaseUrl });
    await c.connect();
    try {
      const results = [];
      for (const s of statements) results.push(await c.query(s));
      return results;
    } finally {
      await c.end();
    }
  };
  let gw: ChildGateway | undefined;
  afterAll(async () => {
    await gw?.close();
    await asAdmin(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`, `DROP ROLE IF EXISTS "${role}"`);
  });

  it("answers unavailable, not internal, while no connection can be opened, and recovers", { timeout: 120_000 }, async () => {
    // A role that is not a superuser (superusers are exempt from connection limits), owning its own database.
    await asAdmin(`CREATE ROLE "${role}" LOGIN`, `CREATE DATABASE "${dbName}" OWNER "${role}"`);
    const url = new URL(base);
    url.username = role;
    url.password = "";
    url.pathname = `/${dbName}`;
    gw = await startChildGateway({ name: "postgres", databaseUrl: url.toString() }, { DB_POOL_SIZE: "8" });
    const grpc = clientFor(SessionService, transportCases[0]!, gw.proc.url, gw.keys.a);
    await grpc.listSessions({});
    // No connection beyond those already open.
    const [, count] = await asAdmin(`SELECT pg_stat_clear_snapshot()`, `SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = '${role}'`);
    const open = (count!.rows[0] as { n: number }).n;
    await asAdmin(`ALTER ROLE "${role}" CONNECTION LIMIT ${open}`);

    const created: string[] = [];
    const outcomes = await Promise.allSettled(
      Array.from({ length: 24 }, async (_, i) => {
        if (i % 2 === 0) {
          const id = (await grpc.createSession({ label: "limited" })).session!.id;
          created.push(id);
          return "ok";
        }
        created.push(await restCreate(gw!.proc.url, gw!.keys.a));
        return "ok";
      }),
    );
    const failed = outcomes.flatMap((o) => (o.status === "rejected" ? [o.reason as unknown] : []));
    const kinds = failed.map((e) =>
      e instanceof ConnectError ? `grpc ${Code[e.code]}` : e instanceof RestStatus ? `rest ${e.status} ${e.code}` : String(e),
    );
    summary(`database faults: connection limit reached under 24 concurrent creates: ${created.length} answered, ${failed.length} refused (${[...new Set(kinds)].join(", ")})`);
    // Some calls found no connection; each of them was told to retry later.
    expect(failed.length).toBeGreaterThan(0);
    for (const k of kinds) expect(["grpc Unavailable", "rest 503 unavailable"]).toContain(k);

    await asAdmin(`ALTER ROLE "${role}" CONNECTION LIMIT -1`);
    created.push((await grpc.createSession({ label: "after" })).session!.id);
    expect(gw.proc.child.exitCode).toBeNull();
    const db = await gw.openDb();
    const c = await checkConsistency(db, gw.orgs.a, created).finally(() => db.destroy());
    expect(c).toMatchObject({ missing: [], withoutCreatedEvent: [], orphanEvents: [], incomplete: [] });
  });
});

/** REST `POST /api/v1/sessions`: the new id, or a {@link RestStatus} with the answer's status and error code. */
async function restCreate(url: string, key: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/sessions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: "{}" });
  const body = (await res.json()) as { id?: string; error?: { code: string } };
  if (res.status !== 201) throw new RestStatus(res.status, body.error?.code);
  return body.id!;
}

class RestStatus extends Error {
  constructor(readonly status: number, readonly code: string | undefined) {
    super(`HTTP ${status} ${code}`);
  }
}
