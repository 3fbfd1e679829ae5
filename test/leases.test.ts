import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Kysely } from "kysely";
import { joinCluster, type GatewayRegistry } from "../src/cluster/gateway-registry.js";
import { LeaseLostError } from "../src/cluster/lease-lost-error.js";
import { planRound, preferenceOrder, targetShares } from "../src/cluster/placement.js";
import { postgresSessionLeases } from "../src/cluster/session-leases.js";
import { migrateToLatest } from "../src/db/migrate.js";
import { openDatabase } from "../src/db/open-database.js";
import type { Database } from "../src/db/schema.js";
import { createEventLog } from "../src/events/event-log.js";
import { createLogger } from "../src/logger.js";
import { loadAuthState, wipeAuthState } from "../src/whatsapp/auth-state-store.js";
import { createEngineStore } from "../src/whatsapp/engine-store.js";
import { createMessageStore } from "../src/messages/message-store.js";
import type { NewMessageRow } from "../src/db/schema.js";
import { ulid } from "../src/util/ulid.js";
import { GatewayService } from "../gen/wagateway/v1/gateway_service_pb.js";
import { backends } from "./support/backends.js";
import { expectApiError } from "./support/expect-error.js";
import { startTestGateway } from "./support/test-gateway.js";
import { clientFor, transportCases } from "./support/transports.js";
import { createScratchDatabase, type ScratchDatabase } from "./support/scratch-database.js";
import { waitUntil } from "./support/wait.js";

const grpc = transportCases[0]!;

describe("placement", () => {
  const gw = (id: string, held: number, capacity = 100, draining = false) => ({ id, name: id, held, capacity, draining });

  it("spreads sessions evenly, honours capacity and gives draining gateways nothing", () => {
    expect([...targetShares([gw("a", 0), gw("b", 0), gw("c", 0)], 30).values()]).toEqual([10, 10, 10]);
    expect(targetShares([gw("a", 0), gw("b", 0, 4), gw("c", 0)], 30)).toEqual(new Map([["a", 13], ["b", 4], ["c", 13]]));
    expect(targetShares([gw("a", 0), gw("b", 0, 100, true)], 31)).toEqual(new Map([["a", 31], ["b", 0]]));
    // Every session is placed as long as the capacity suffices.
    const shares = targetShares([gw("a", 0, 7), gw("b", 0, 9), gw("c", 0, 50)], 40);
    expect([...shares.values()].reduce((x, y) => x + y, 0)).toBe(40);
  });

  it("takes up to its share, hands over only what another gateway wants", () => {
    expect(planRound([gw("a", 0), gw("b", 30)], "a", 30, { rebalance: true, maxMoves: 100 })).toEqual({ take: 15, handOver: 0 });
    expect(planRound([gw("a", 0), gw("b", 30)], "b", 30, { rebalance: true, maxMoves: 100 })).toEqual({ take: 0, handOver: 15 });
    expect(planRound([gw("a", 0), gw("b", 30)], "b", 30, { rebalance: true, maxMoves: 4 })).toEqual({ take: 0, handOver: 4 });
    expect(planRound([gw("a", 0), gw("b", 30)], "b", 30, { rebalance: false, maxMoves: 100 })).toEqual({ take: 0, handOver: 0 });
    // Within one of the share: no churn.
    expect(planRound([gw("a", 14), gw("b", 16)], "b", 30, { rebalance: true, maxMoves: 100 }).handOver).toBe(0);
    // The others are full: nothing moves.
    expect(planRound([gw("a", 5, 5), gw("b", 25)], "b", 30, { rebalance: true, maxMoves: 100 }).handOver).toBe(0);
    expect(planRound([gw("a", 3, 100, true), gw("b", 0)], "a", 3, { rebalance: true, maxMoves: 1 }).handOver).toBe(3);
  });

  it("orders candidates so that concurrent gateways prefer different sessions", () => {
    const ids = Array.from({ length: 300 }, (_, i) => `s${i}`);
    const names = ["a", "b", "c"];
    const firsts = names.map((n) => new Set(preferenceOrder(ids, n, names).slice(0, 80)));
    // Each gateway's first 80 are (almost all) its natural share: little overlap.
    expect([...firsts[0]!].filter((id) => firsts[1]!.has(id)).length).toBeLessThan(10);
    expect(preferenceOrder(ids, "a", names)).toEqual(preferenceOrder([...ids].reverse(), "a", names));
  });
});

describe("ListGateways on the embedded database", () => {
  it("shows this one gateway, and needs the read capability", async () => {
    const gw = await startTestGateway(backends[0]!, { GATEWAY_CAPACITY: "250" });
    try {
      const org = gw.newOrgId();
      const { gateways } = await clientFor(GatewayService, grpc, gw.url, await gw.createKey(org, ["read"])).listGateways({});
      expect(gateways).toHaveLength(1);
      expect(gateways[0]).toMatchObject({ id: "gw-test", current: true, sessions: 0, organizationSessions: 0, capacity: 250, draining: false });
      await expectApiError(clientFor(GatewayService, grpc, gw.url, await gw.createKey(org, ["manage"])).listGateways({}), "forbidden");
    } finally {
      await gw.close();
    }
  });
});

const pgBackend = backends.find((b) => b.name === "postgres");

describe.runIf(pgBackend)("session leases on PostgreSQL", () => {
  let scratch: ScratchDatabase;
  let db: Kysely<Database>;
  const registries: GatewayRegistry[] = [];
  const log = createLogger("error");
  const join = async (name: string) => {
    const r = await joinCluster({ databaseUrl: scratch.url, db, name, address: null, capacity: 100, leaseTtlMs: 3_000, log });
    registries.push(r);
    return r;
  };
  let n = 0;
  const newSession = async () => {
    const id = `01SESSION${String(++n).padStart(17, "0")}`;
    await db.insertInto("organizations").values({ id: "org_leases", name: "o", created_at: new Date() }).onConflict((oc) => oc.doNothing()).execute();
    const now = new Date();
    await db
      .insertInto("sessions")
      .values({
        id,
        organization_id: "org_leases",
        label: null,
        status: "working",
        status_reason: null,
        desired_state: "running",
        auto_read: false,
        presence_typing: false,
        rate_per_min: 1,
        rate_per_hour: 1,
        phone_number: "15550001111",
        wa_jid: null,
        wa_lid: null,
        gateway_id: "gw-a",
        is_admin_session: false,
        created_by_user_id: null,
        created_at: now,
        updated_at: now,
        last_connected_at: null,
      })
      .execute();
    return id;
  };

  beforeAll(async () => {
    scratch = await createScratchDatabase(pgBackend!.databaseUrl!);
    db = (await openDatabase({ databaseUrl: scratch.url, dataDir: "memory://" })).db;
    await migrateToLatest(db);
  });
  afterAll(async () => {
    await Promise.all(registries.map((r) => r.close()));
    await db?.destroy();
    await scratch?.drop();
  });

  it("fences a paused holder: after a take-over, none of its writes lands", async () => {
    const a = await join("gw-a");
    const b = await join("gw-b");
    const leases = postgresSessionLeases(db);
    const id = await newSession();
    const la = (await leases.acquire(a.id(), [id])).get(id)!;
    expect(la.epoch).toBe("1");
    expect((await leases.acquire(b.id(), [id])).size).toBe(0); // a is live: b cannot take it
    expect((await leases.holderOf(id))?.name).toBe("gw-a");

    // a stops renewing (a paused process): once its heartbeat lapses, b takes over with a new epoch.
    await db.updateTable("gateways").set({ expires_at: new Date(Date.now() - 1_000) }).where("id", "=", a.id()).execute();
    const lb = (await leases.acquire(b.id(), [id])).get(id)!;
    expect(lb.epoch).toBe("2");
    expect((await leases.holderOf(id))?.name).toBe("gw-b");

    const store = createEngineStore(db, createEventLog(db, true));
    const authB = await loadAuthState(db, id, leases.fence(id, lb));
    await authB.saveCreds();
    await authB.state.keys.set({ "pre-key": { "1": { public: Buffer.from([1]), private: Buffer.from([2]) } } });
    const credsBefore = await db.selectFrom("wa_auth_creds").selectAll().where("session_id", "=", id).executeTakeFirstOrThrow();
    const eventsBefore = await db.selectFrom("events").select("id").where("session_id", "=", id).execute();

    // Everything a's runtime would write on waking up is refused.
    const fenceA = leases.fence(id, la);
    await expect(store.apply(id, { status: "stopped", reason: "conflict_replaced", patch: { desired_state: "stopped" }, events: [{ type: "connection.close", data: { code: 440 } }] }, fenceA)).rejects.toBeInstanceOf(LeaseLostError);
    const authA = await loadAuthState(db, id, fenceA);
    await expect(authA.saveCreds()).rejects.toBeInstanceOf(LeaseLostError);
    await expect(authA.state.keys.set({ "pre-key": { "1": null } })).rejects.toBeInstanceOf(LeaseLostError);
    await expect(wipeAuthState(db, id, fenceA)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(leases.release(id, la)).resolves.toBeUndefined(); // a no-op: not a's any more

    const row = await db.selectFrom("sessions").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: "working", desired_state: "running", status_reason: null });
    expect(await db.selectFrom("wa_auth_creds").selectAll().where("session_id", "=", id).executeTakeFirstOrThrow()).toEqual(credsBefore);
    expect((await authB.state.keys.get("pre-key", ["1"]))["1"]).toBeDefined();
    expect(await db.selectFrom("events").select("id").where("session_id", "=", id).execute()).toEqual(eventsBefore);
    expect((await db.selectFrom("session_leases").selectAll().where("session_id", "=", id).executeTakeFirstOrThrow()).holder).toBe(b.id());

    // The new holder writes normally.
    await expect(store.apply(id, { status: "working", events: [{ type: "connection.open", data: {} }] }, leases.fence(id, lb))).resolves.toBeDefined();
  });

  it("makes a holder that lost its lease forget the keys it kept in memory", async () => {
    const a = await join("gw-e");
    const b = await join("gw-f");
    const leases = postgresSessionLeases(db);
    const id = await newSession();
    const la = (await leases.acquire(a.id(), [id])).get(id)!;
    const authA = await loadAuthState(db, id, leases.fence(id, la), { cacheEntries: 100 });
    await authA.state.keys.set({ session: { contact: { v: "a1" } } } as never);
    // b takes over (a paused) and writes its own ratchet state.
    await db.updateTable("gateways").set({ expires_at: new Date(Date.now() - 1_000) }).where("id", "=", a.id()).execute();
    const lb = (await leases.acquire(b.id(), [id])).get(id)!;
    const authB = await loadAuthState(db, id, leases.fence(id, lb), { cacheEntries: 100 });
    expect((await authB.state.keys.get("session", ["contact"])).contact).toEqual({ v: "a1" });
    await authB.state.keys.set({ session: { contact: { v: "b1" } } } as never);
    // a still answers from memory until its next write is refused; from then on it reads the database.
    expect((await authA.state.keys.get("session", ["contact"])).contact).toEqual({ v: "a1" });
    await expect(authA.state.keys.set({ session: { contact: { v: "a2" } } } as never)).rejects.toBeInstanceOf(LeaseLostError);
    expect((await authA.state.keys.get("session", ["contact"])).contact).toEqual({ v: "b1" });
    const rows = await db.selectFrom("wa_auth_keys").select("value").where("session_id", "=", id).execute();
    expect(rows.map((r) => r.value)).toEqual(['{"v":"b1"}']);
  });

  it("frees a crashed gateway's leases at once and makes it rejoin under a new incarnation", async () => {
    const c = await join("gw-c");
    const d = await join("gw-d");
    const leases = postgresSessionLeases(db);
    const id = await newSession();
    const oldId = c.id();
    const lc = (await leases.acquire(oldId, [id])).get(id)!;
    let lapsed = 0;
    c.onLapse(() => lapsed++);
    // The process's connection dies (crash, network): its liveness lock goes with it.
    const pids = await db
      .selectFrom("pg_stat_activity" as never)
      .select("pid" as never)
      .where("application_name" as never, "=", "wa-gateway/gw-c" as never)
      .execute();
    for (const p of pids as { pid: number }[]) await db.selectNoFrom((eb) => eb.fn("pg_terminate_backend", [eb.val(p.pid)]).as("x")).execute();
    // Before its heartbeat could lapse, another gateway may take the session.
    const ld = await waitUntil("lease free", async () => (await leases.acquire(d.id(), [id])).get(id));
    expect(Number(ld.epoch)).toBe(Number(lc.epoch) + 1);
    await waitUntil("rejoined", () => (lapsed > 0 && c.healthy() && c.id() !== oldId ? true : undefined));
    expect((await d.live()).map((g) => g.name).sort()).toEqual(expect.arrayContaining(["gw-c", "gw-d"]));
    expect((await d.live()).some((g) => g.id === oldId)).toBe(false);
  });

  it("never deadlocks a message being queued against the holder's writes to its session", async () => {
    const id = await newSession();
    const log = createEventLog(db, true);
    const engine = createEngineStore(db, log);
    const messages = createMessageStore(db, log);
    const rounds = 150;
    const message = (i: number, w: number): NewMessageRow => {
      const now = new Date();
      return {
        id: ulid(now.getTime()),
        organization_id: "org_leases",
        session_id: id,
        wa_message_id: `LOCKORDER${w}X${i}`,
        direction: "out",
        source: "api",
        chat_id: "15550002222@s.whatsapp.net",
        contact_phone: "15550002222",
        contact_lid: null,
        contact_push_name: null,
        type: "text",
        content: JSON.stringify({ text: { body: `m${i}` } }),
        media_data: null,
        wa_message: null,
        reply_to: null,
        mentions: "[]",
        status: "queued",
        status_reason: null,
        idempotency_key: null,
        request_hash: null,
        created_at: now,
        sent_at: null,
        delivered_at: null,
        read_at: null,
        not_before: null,
        expires_at: new Date(now.getTime() + 60_000),
        updated_at: now,
      };
    };
    // Engine writes (session row, then the event log) and sends (a row referencing the session, and its event), side by side.
    const writers = Array.from({ length: 3 }, async (_, w) => {
      for (let i = 0; i < rounds; i++) await engine.apply(id, { patch: { last_error: `w${w} ${i}` }, events: [{ type: "connection.connecting", data: { i } }] });
    });
    const senders = Array.from({ length: 3 }, async (_, w) => {
      for (let i = 0; i < rounds; i++) expect(await messages.enqueue(message(i, w))).toMatchObject({ created: true });
    });
    await Promise.all([...writers, ...senders]);
    const { n } = await db.selectFrom("messages").select((eb) => eb.fn.countAll<string>().as("n")).where("session_id", "=", id).executeTakeFirstOrThrow();
    expect(Number(n)).toBe(3 * rounds);
  });
});
