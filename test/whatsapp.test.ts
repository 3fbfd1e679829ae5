import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SessionStatus } from "../gen/wagateway/v1/session_pb.js";
import { SessionService } from "../gen/wagateway/v1/session_service_pb.js";
import { decodeAuthValue, encodeAuthValue, loadAuthState } from "../src/whatsapp/auth-state-store.js";
import { backends } from "./support/backends.js";
import { tapEvents } from "./support/event-stream.js";
import { expectApiError } from "./support/expect-error.js";
import { spawnGateway } from "./support/gateway-process.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";
import { clientFor, transportCases } from "./support/transports.js";
import { retryUnavailable, waitForStatus, waitUntil } from "./support/wait.js";
import { startWaSimulator, type WaSimulator } from "./wa-sim/index.js";

const grpc = transportCases[0]!;
let phoneSeq = 0;
const newPhone = () => `1555${process.pid % 1000}${String(++phoneSeq).padStart(4, "0")}`;

/** Gateway settings that point the engine at the simulator and keep fault paths fast. */
function engineEnv(sim: WaSimulator, extra: Record<string, string> = {}): Record<string, string> {
  return {
    WA_WEBSOCKET_URL: sim.url,
    WA_ROOT_PUBLIC_KEY: Buffer.from(sim.rootPublicKey).toString("base64"),
    WA_CONNECT_TIMEOUT_MS: "5000",
    WA_RECONNECT_BASE_MS: "50",
    WA_RECONNECT_MAX_MS: "500",
    ...extra,
  };
}

describe.each(backends)("WhatsApp engine on $name (real Baileys against the simulator)", (backend) => {
  let sim: WaSimulator;
  let gw: TestGateway;
  let client: ReturnType<typeof clientFor<typeof SessionService>>;

  beforeAll(async () => {
    sim = await startWaSimulator({ qrRefs: 6 });
    gw = await startTestGateway(backend, engineEnv(sim));
    client = clientFor(SessionService, grpc, gw.url, await gw.createKey(gw.newOrgId(), ["manage", "read"]));
  });
  afterAll(async () => {
    await gw?.close();
    await sim?.close();
  });

  /** Creates a started session, scans its QR as `phone`, waits for `working`. */
  /** Pairs a new session by QR; `timeoutMs` bounds each wait (raised where many pair at once on a loaded machine). */
  async function pairByQr(phone = newPhone(), timeoutMs = 45_000) {
    // A loaded machine may answer 503 (retry later) while many pair at once: retried, as the contract says.
    const { session } = await retryUnavailable(() => client.createSession({ start: true, label: `phone ${phone}` }));
    const id = session!.id;
    expect(session!.status).toBe(SessionStatus.STARTING);
    await waitForStatus(client, id, SessionStatus.SCAN_QR_CODE, timeoutMs);
    const qr = await retryUnavailable(() => client.getQrCode({ session: id }));
    await sim.scanQr(qr.qr, { phoneNumber: phone });
    const working = await waitForStatus(client, id, SessionStatus.WORKING, timeoutMs);
    return { id, phone, working, qr };
  }

  it("pairs by QR: starting → scan_qr_code (QR with expiry) → working with the number filled in", async () => {
    const tap = tapEvents(client);
    await tap.ready;
    const before = Date.now();
    const { id, phone, working, qr } = await pairByQr();
    expect(qr.attempt).toBe(1);
    expect(Number(qr.expiresAt)).toBeGreaterThan(before);
    expect(qr.qr.split(",").length).toBeGreaterThanOrEqual(4);
    expect(working).toMatchObject({ phoneNumber: phone, waJid: `${phone}@s.whatsapp.net`, gatewayId: "gw-test" });
    expect(working.waLid).toMatch(/@lid$/);
    expect(Number(working.lastConnectedAt)).toBeGreaterThanOrEqual(before);
    // Working: no QR on offer any more.
    await expectApiError(client.getQrCode({ session: id }), "conflict");

    const events = await waitUntil("connection.open event", () => (tap.events.some((e) => e.type === "connection.open" && e.sessionId === id) ? tap.events : undefined));
    const types = events.filter((e) => e.sessionId === id).map((e) => e.type);
    for (const t of ["session.created", "connection.connecting", "auth.qr", "auth.paired", "connection.close", "connection.open", "session.status"]) {
      expect(types, t).toContain(t);
    }
    expect(types.indexOf("auth.qr")).toBeLessThan(types.indexOf("auth.paired"));
    expect(types.lastIndexOf("connection.open")).toBeGreaterThan(types.indexOf("auth.paired"));
    const restart = events.find((e) => e.sessionId === id && e.type === "connection.close");
    expect(restart!.data).toMatchObject({ code: 515, willReconnect: true });
    expect(sim.maxConcurrent(phone)).toBe(1);
    await tap.stop();
  });

  it("pairs by phone code: RequestPairingCode returns ABCD-EFGH and the simulated phone completes it", async () => {
    const phone = newPhone();
    const { session } = await client.createSession({ start: true });
    const id = session!.id;
    const { code } = await client.requestPairingCode({ session: id, phoneNumber: phone });
    expect(code).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    await sim.enterPairingCode(phone, code.replace("-", ""));
    const working = await waitForStatus(client, id, SessionStatus.WORKING);
    expect(working.phoneNumber).toBe(phone);
    await expectApiError(client.requestPairingCode({ session: id, phoneNumber: phone }), "conflict");
  });

  it("stop keeps auth, start resumes without a QR; logout unlinks and wipes auth rows", async () => {
    const { id, phone } = await pairByQr();
    const stopped = await client.stopSession({ session: id });
    expect(stopped.session!.status).toBe(SessionStatus.STOPPED);
    await waitUntil("socket closed", () => (sim.liveConnections(phone) === 0 ? true : undefined));
    const logins = sim.totalLogins(phone);
    await client.startSession({ session: id });
    await waitForStatus(client, id, SessionStatus.WORKING);
    expect(sim.totalLogins(phone)).toBe(logins + 1);

    const keysBefore = await gw.db.selectFrom("wa_auth_keys").select("key_id").where("session_id", "=", id).execute();
    expect(keysBefore.length).toBeGreaterThan(0);
    const out = await client.logoutSession({ session: id });
    expect(out.session!.status).toBe(SessionStatus.STOPPED);
    expect(out.session!.phoneNumber).toBeUndefined();
    expect(out.session!.waJid).toBeUndefined();
    expect(await gw.db.selectFrom("wa_auth_keys").select("key_id").where("session_id", "=", id).execute()).toEqual([]);
    expect(await gw.db.selectFrom("wa_auth_creds").select("session_id").where("session_id", "=", id).execute()).toEqual([]);
    expect(sim.devices().some((d) => d.phoneNumber === phone && d.liveConnections > 0)).toBe(false);
    // Starting again needs a new pairing.
    await client.startSession({ session: id });
    await waitForStatus(client, id, SessionStatus.SCAN_QR_CODE);
    await client.stopSession({ session: id });
  });

  it("logout of a stopped session connects briefly to unlink the device on WhatsApp", async () => {
    const { id, phone } = await pairByQr();
    await client.stopSession({ session: id });
    await waitUntil("socket closed", () => (sim.liveConnections(phone) === 0 ? true : undefined));
    expect(sim.devices().some((d) => d.phoneNumber === phone)).toBe(true);
    const logins = sim.totalLogins(phone);
    const out = await client.logoutSession({ session: id });
    expect(out.session!.status).toBe(SessionStatus.STOPPED);
    expect(sim.totalLogins(phone)).toBe(logins + 1);
    // The simulated phone no longer lists the device, and nothing stays connected.
    expect(sim.devices().some((d) => d.phoneNumber === phone)).toBe(false);
    await waitUntil("socket closed", () => (sim.liveConnections(phone) === 0 ? true : undefined));
    expect(await gw.db.selectFrom("wa_auth_creds").select("session_id").where("session_id", "=", id).execute()).toEqual([]);
    expect((await client.getSession({ session: id })).session!.status).toBe(SessionStatus.STOPPED);
  });

  it("handles faults: dropped connection reconnects; conflict stops; device removed → failed logged_out", async () => {
    const a = await pairByQr();
    const logins = sim.totalLogins(a.phone);
    sim.dropConnection(a.phone);
    await waitUntil("reconnect", () => (sim.totalLogins(a.phone) > logins ? true : undefined));
    await waitForStatus(client, a.id, SessionStatus.WORKING);
    expect(sim.maxConcurrent(a.phone)).toBe(1);

    const b = await pairByQr();
    sim.conflictReplaced(b.phone);
    const stopped = await waitForStatus(client, b.id, SessionStatus.STOPPED);
    expect(stopped.statusReason).toBe("conflict_replaced");

    const c = await pairByQr();
    sim.deviceRemoved(c.phone);
    const failed = await waitForStatus(client, c.id, SessionStatus.FAILED);
    expect(failed.statusReason).toBe("logged_out");
    expect(failed.phoneNumber).toBeUndefined();
    expect(await gw.db.selectFrom("wa_auth_creds").select("session_id").where("session_id", "=", c.id).execute()).toEqual([]);
  });

  it("deletes a paired session: unlinks it and removes every row it owns", async () => {
    const { id } = await pairByQr();
    await client.deleteSession({ session: id });
    await expectApiError(client.getSession({ session: id }), "not_found", Code.NotFound);
    expect(await gw.db.selectFrom("wa_auth_keys").select("key_id").where("session_id", "=", id).execute()).toEqual([]);
  });

  it("pairs 20 sessions concurrently in one process", { timeout: 300_000 }, async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => pairByQr(newPhone(), 150_000)));
    expect(new Set(results.map((r) => r.phone)).size).toBe(20);
    for (const r of results) expect(sim.maxConcurrent(r.phone)).toBe(1);
  });

  it("round-trips auth state byte-exact", async () => {
    const { id } = await pairByQr();
    // Baileys keeps updating creds for a while after the login (pre-key uploads,
    // app-state sync): stopped, every write has landed and none follows.
    await client.stopSession({ session: id });
    const stored = await gw.db.selectFrom("wa_auth_creds").select("creds").where("session_id", "=", id).executeTakeFirstOrThrow();
    const loaded = await loadAuthState(gw.db, id);
    expect(encodeAuthValue(loaded.state.creds)).toBe(stored.creds);
    expect(Buffer.isBuffer(loaded.state.creds.noiseKey.private)).toBe(true);
    const value = { keyPair: { public: Buffer.from([0, 1, 2, 255]), private: Buffer.alloc(32, 7) }, keyId: 42 };
    await loaded.state.keys.set({ "signed-identity-key": { probe: value as never } } as never);
    const back = await loaded.state.keys.get("signed-identity-key" as never, ["probe"]);
    expect(back.probe).toEqual(value);
    expect(decodeAuthValue(encodeAuthValue(value))).toEqual(value);
  });

  it.each([0, 10, 1_000])("coalesces concurrent key writes without losing or reordering any (%i keys in memory)", async (cacheEntries) => {
    const { session } = await client.createSession({});
    const id = session!.id;
    const auth = await loadAuthState(gw.db, id, undefined, { cacheEntries });
    const ids = Array.from({ length: 100 }, (_, i) => `k${i}`);
    const set = (n: number, value: number | null) => auth.state.keys.set({ "pre-key": { [`k${n}`]: value === null ? null : ({ n: value } as never) } } as never);
    const expected = (i: number) => (i % 5 === 0 ? undefined : { n: i % 2 === 0 ? i + 1000 : i });
    // Reads before and during the writes: each key known absent, then written while reads are in flight.
    expect(await auth.state.keys.get("pre-key" as never, ids)).toEqual({});
    // 300 calls at once: every key written, some overwritten, some deleted, in call order.
    const calls: unknown[] = [];
    const during = auth.state.keys.get("pre-key" as never, ids);
    for (let i = 0; i < 100; i++) calls.push(set(i, i));
    for (let i = 0; i < 100; i += 2) calls.push(set(i, i + 1000));
    for (let i = 0; i < 100; i += 5) calls.push(set(i, null));
    const readDuring = await during;
    await Promise.all(calls);
    // A read that was in flight returns each key as it was before the writes or after them, never a stale value after a newer one.
    for (const [k, v] of Object.entries(readDuring)) expect([{ n: Number(k.slice(1)) }, expected(Number(k.slice(1)))]).toContainEqual(v);
    const back = await auth.state.keys.get("pre-key" as never, ids);
    for (let i = 0; i < 100; i++) expect(back[`k${i}`]).toEqual(expected(i));
    // A fresh load (another process) sees the same rows.
    const again = await loadAuthState(gw.db, id);
    expect(Object.keys(await again.state.keys.get("pre-key" as never, ids))).toHaveLength(80);
  });

  it("serves a holder's keys from memory, and what it set over what it read", async () => {
    const { session } = await client.createSession({});
    const id = session!.id;
    const auth = await loadAuthState(gw.db, id, undefined, { cacheEntries: 2 });
    await auth.state.keys.set({ "pre-key": { a: { n: 1 }, b: { n: 2 } } } as never);
    // Rows changed behind the holder's back (nothing does this while a lease is held) show what is kept in memory.
    await gw.db.updateTable("wa_auth_keys").set({ value: encodeAuthValue({ n: 9 }) }).where("session_id", "=", id).execute();
    expect(await auth.state.keys.get("pre-key" as never, ["a", "b"])).toEqual({ a: { n: 1 }, b: { n: 2 } });
    // A third key pushes out the least recently used: it is read from the database again.
    await auth.state.keys.set({ "pre-key": { c: { n: 3 } } } as never);
    expect(await auth.state.keys.get("pre-key" as never, ["a", "b", "c"])).toEqual({ a: { n: 9 }, b: { n: 2 }, c: { n: 3 } });
    // Keys known absent are remembered too.
    expect(await auth.state.keys.get("pre-key" as never, ["z"])).toEqual({});
    await gw.db.insertInto("wa_auth_keys").values({ session_id: id, type: "pre-key", key_id: "z", value: encodeAuthValue({ n: 26 }) }).execute();
    expect(await auth.state.keys.get("pre-key" as never, ["z"])).toEqual({});
  });
});

describe("QR attempts exhausted", () => {
  it("ends in failed with reason qr_attempts_exhausted", { timeout: 60_000 }, async () => {
    const sim = await startWaSimulator({ qrRefs: 2, qrTimeoutMs: 300 });
    const gw = await startTestGateway(backends[0]!, engineEnv(sim, { WA_QR_TIMEOUT_MS: "300" }));
    try {
      const client = clientFor(SessionService, grpc, gw.url, await gw.createKey(gw.newOrgId(), ["manage"]));
      const { session } = await client.createSession({ start: true });
      const failed = await waitForStatus(client, session!.id, SessionStatus.FAILED);
      expect(failed.statusReason).toBe("qr_attempts_exhausted");
    } finally {
      await gw.close();
      await sim.close();
    }
  });
});

describe("restart recovery of a real gateway process", () => {
  it("SIGKILL and start again → working with no new QR and never two connections", { timeout: 120_000 }, async () => {
    const sim = await startWaSimulator();
    const dataDir = mkdtempSync(join(tmpdir(), "wagw-engine-"));
    const env = { DATA_DIR: dataDir, GATEWAY_ID: "gw-proc", ...engineEnv(sim) };
    let gw = await spawnGateway(env);
    try {
      const key = (await gw.waitForStdout(/API key:\s+(wag_\S+)/))[1]!;
      let client = clientFor(SessionService, grpc, gw.url, key);
      const phone = newPhone();
      const { session } = await client.createSession({ start: true });
      const id = session!.id;
      await waitForStatus(client, id, SessionStatus.SCAN_QR_CODE);
      await sim.scanQr((await client.getQrCode({ session: id })).qr, { phoneNumber: phone });
      await waitForStatus(client, id, SessionStatus.WORKING);

      await gw.stop("SIGKILL");
      await waitUntil("server to notice the dead socket", () => (sim.liveConnections(phone) === 0 ? true : undefined), 10_000);
      gw = await spawnGateway(env);
      client = clientFor(SessionService, grpc, gw.url, key);
      const tap = tapEvents(client, { sessions: [id], types: ["auth.qr", "connection.open"] });
      const back = await waitForStatus(client, id, SessionStatus.WORKING, 30_000);
      expect(back.phoneNumber).toBe(phone);
      const opened = await tap.waitFor(1);
      expect(opened.map((e) => e.type)).toEqual(["connection.open"]);
      await tap.stop();
      expect(sim.maxConcurrent(phone)).toBe(1);
      expect(sim.totalLogins(phone)).toBe(2);
    } finally {
      await gw.stop("SIGTERM");
      await sim.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
