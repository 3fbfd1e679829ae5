import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Event } from "../gen/wagateway/v1/event_pb.js";
import { SessionService } from "../gen/wagateway/v1/session_service_pb.js";
import type { NewEvent } from "../src/events/event-types.js";
import { backends } from "./support/backends.js";
import { tapEvents } from "./support/event-stream.js";
import { expectApiError } from "./support/expect-error.js";
import { openRawConnectStream } from "./support/raw-connect-stream.js";
import { spawnGateway } from "./support/gateway-process.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";
import { waitUntil } from "./support/wait.js";
import { clientFor, transportCases } from "./support/transports.js";

const grpc = transportCases[0]!;
const connectH1 = transportCases[1]!;
const ids = (events: Event[]) => events.map((e) => e.id);
/** Waits until `tap` holds `n` events other than session.created. */
const waitUntilCount = (tap: ReturnType<typeof tapEvents>, n: number) =>
  waitUntil(`${n} events`, () => (tap.events.filter((e) => e.type !== "session.created").length >= n ? true : undefined), 15_000);

describe.each(backends)("WatchEvents on $name", (backend) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(backend, { EVENTS_HEARTBEAT_MS: "300" });
  });
  afterAll(() => gw?.close());

  async function newOrg() {
    const org = gw.newOrgId();
    const key = await gw.createKey(org, ["manage", "read"]);
    return { org, key, client: clientFor(SessionService, grpc, gw.url, key) };
  }

  it("streams session.created / updated / deleted live, with heartbeats while idle", async () => {
    const { org, client } = await newOrg();
    const tap = tapEvents(client);
    await tap.ready;
    const { session } = await client.createSession({ label: "watched" });
    const id = session!.id;
    await client.updateSession({ session: id, label: "renamed" });
    await client.deleteSession({ session: id });
    const got = await tap.waitFor(3);
    expect(got.map((e) => e.type)).toEqual(["session.created", "session.updated", "session.deleted"]);
    expect(got.every((e) => e.organizationId === org && e.sessionId === id)).toBe(true);
    expect(got[0]!.data).toMatchObject({ session: { id, label: "watched", status: "stopped", phoneNumber: null } });
    expect(got[1]!.data).toMatchObject({ session: { label: "renamed" }, changed: ["label"] });
    expect(BigInt(got[0]!.id) < BigInt(got[1]!.id) && BigInt(got[1]!.id) < BigInt(got[2]!.id)).toBe(true);
    await new Promise((r) => setTimeout(r, 800));
    expect(tap.heartbeats).toBeGreaterThanOrEqual(2);
    await tap.stop();
  });

  it("resumes after every point with the exact id sequence: no gap, no duplicate", async () => {
    const { client, key } = await newOrg();
    const live = tapEvents(client);
    await live.ready;
    for (let i = 0; i < 12; i++) await client.createSession({ label: `s${i}` });
    const all = ids(await live.waitFor(12));
    await live.stop();
    const n = all.length;
    for (let k = 0; k < n; k++) {
      const tap = tapEvents(clientFor(SessionService, k % 2 ? grpc : connectH1, gw.url, key), { after: all[k] });
      const expected = all.slice(k + 1);
      if (expected.length > 0) expect(ids(await tap.waitFor(expected.length))).toEqual(expected);
      // Nothing else is pending: the next event is a fresh one, not a replayed duplicate.
      const { session } = await client.createSession({ label: "marker" });
      const next = await tap.waitFor(expected.length + 1);
      expect(next[expected.length]!.sessionId).toBe(session!.id);
      all.push(next[expected.length]!.id);
      await tap.stop();
    }
  });

  it("resumes in the middle of a burst without losing or repeating anything", async () => {
    const { client } = await newOrg();
    const reference = tapEvents(client);
    await reference.ready;
    const burst = Promise.all(Array.from({ length: 40 }, (_, i) => client.createSession({ label: `burst ${i}` })));
    const received: string[] = [];
    let last: string | undefined;
    // Cut the stream after every few events while the burst is being written.
    while (received.length < 40) {
      // The organization is new, so after=0 is its whole history.
      const tap = tapEvents(client, { after: last ?? "0" });
      const want = Math.min(40 - received.length, 7);
      const got = await tap.waitFor(want);
      await tap.stop();
      received.push(...ids(got));
      last = received[received.length - 1];
    }
    await burst;
    const expected = ids(await reference.waitFor(40));
    await reference.stop();
    expect(received).toEqual(expected);
    expect(new Set(received).size).toBe(40);
  });

  it("replays from a time with `since`", async () => {
    const { client } = await newOrg();
    const before = Date.now() - 1;
    const { session } = await client.createSession({ label: "earlier" });
    const tap = tapEvents(client, { since: BigInt(before) });
    const [e] = await tap.waitFor(1);
    expect(e!.sessionId).toBe(session!.id);
    await tap.stop();
  });

  it("never shows another organization's events, and filters by session and type", async () => {
    const a = await newOrg();
    const b = await newOrg();
    const tapB = tapEvents(b.client);
    const s1 = (await a.client.createSession({ label: "one" })).session!.id;
    const s2 = (await a.client.createSession({ label: "two" })).session!.id;
    const bySession = tapEvents(a.client, { sessions: [s2] });
    const byType = tapEvents(a.client, { types: ["session.updated"] });
    await Promise.all([tapB.ready, bySession.ready, byType.ready]);
    await a.client.updateSession({ session: s1, label: "one!" });
    await a.client.updateSession({ session: s2, label: "two!" });
    await a.client.deleteSession({ session: s2 });
    const markerB = (await b.client.createSession({ label: "b marker" })).session!.id;

    const [firstB] = await tapB.waitFor(1);
    expect(firstB!.sessionId).toBe(markerB);
    expect(tapB.events.every((e) => e.organizationId === b.org)).toBe(true);

    // Live-only taps start at the hub's position, which may trail the commits
    // of s1/s2 by a moment: their session.created may or may not show up.
    await waitUntilCount(bySession, 2);
    expect(bySession.events.filter((e) => e.type !== "session.created").map((e) => [e.sessionId, e.type])).toEqual([
      [s2, "session.updated"],
      [s2, "session.deleted"],
    ]);
    expect((await byType.waitFor(2)).map((e) => [e.sessionId, e.type])).toEqual([
      [s1, "session.updated"],
      [s2, "session.updated"],
    ]);
    // Resuming with another org's event id still shows only the caller's events.
    const resumeB = tapEvents(b.client, { after: "0" });
    const replayed = await resumeB.waitFor(1);
    expect(replayed.every((e) => e.organizationId === b.org)).toBe(true);
    await Promise.all([tapB.stop(), bySession.stop(), byType.stop(), resumeB.stop()]);
  });

  it("rejects bad filters and requires the read capability", async () => {
    const { org, client } = await newOrg();
    const drain = async (req: Parameters<typeof client.watchEvents>[0]) => {
      for await (const _ of client.watchEvents(req)) break;
    };
    await expectApiError(drain({ types: ["session.exploded"] }), "validation_error");
    await expectApiError(drain({ sessions: ["not-an-id"] }), "validation_error");
    await expectApiError(drain({ after: "-1" }), "validation_error");
    const manageOnly = clientFor(SessionService, grpc, gw.url, await gw.createKey(org, ["manage"]));
    await expectApiError((async () => { for await (const _ of manageOnly.watchEvents({})) break; })(), "forbidden", Code.PermissionDenied);
  });

  it("appends events in the same transaction as the change: a rejected change leaves no event", async () => {
    const { client } = await newOrg();
    const tap = tapEvents(client);
    await tap.ready;
    await expectApiError(client.createSession({ label: "x".repeat(101) }), "validation_error");
    await expectApiError(client.updateSession({ session: "01ARZ3NDEKTSV4RRFFQ69G5FAV", label: "ghost" }), "not_found");
    const { session } = await client.createSession({ label: "real" });
    const [first] = await tap.waitFor(1);
    expect(first!.sessionId).toBe(session!.id);
    await tap.stop();
  });

  it("stores each event's data exactly, in the order given", async () => {
    const org = gw.newOrgId();
    const odd = ['quote " and \\ backslash', "{braces}, commas, 'single'", "ünïcödé ✓ 🚀", "NULL", ""];
    const events = odd.map((text, i) => ({ organizationId: org, sessionId: i % 2 ? "" : "s1", type: "session.updated" as const, data: { text, i, nested: { list: [text, null, true] } } }));
    await gw.events.log.transact(async () => ({ result: undefined, events }));
    const stored = await gw.events.log.read({ after: 0n, organizationId: org, limit: 100 });
    expect(stored.map((e) => ({ sessionId: e.sessionId, data: e.data }))).toEqual(events.map((e) => ({ sessionId: e.sessionId, data: e.data })));
    expect(stored.map((e) => e.id)).toEqual([...stored.map((e) => e.id)].sort((a, b) => (a < b ? -1 : 1)));
  });
});

describe("slow consumers", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(backends[0]!, { EVENTS_SUBSCRIBER_BUFFER: "50", EVENTS_STALL_MS: "1500" });
  });
  afterAll(() => gw?.close());

  it("ends a stalled stream with a resume error while a fast one rides out the burst; the resume is lossless", { timeout: 90_000 }, async () => {
    const org = gw.newOrgId();
    const key = await gw.createKey(org, ["read"]);
    const client = clientFor(SessionService, grpc, gw.url, key);
    const fast = tapEvents(client);
    await fast.ready;

    // A stalled reader: opens the stream, reads the first message, then stops reading.
    const slow = openRawConnectStream(gw.url, "/wagateway.v1.SessionService/WatchEvents", key, {});
    await slow.first;
    slow.pause();

    const append = async (count: number) => {
      const batch: NewEvent[] = Array.from({ length: 10 }, (_, i) => ({
        organizationId: org,
        sessionId: "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        type: "connection.connecting",
        data: { i, padding: "x".repeat(1000) },
      }));
      for (let i = 0; i < count / 10; i++) await gw.events.log.transact(async () => ({ result: undefined, events: batch }));
    };
    // Phase 1: enough to fill the stalled reader's HTTP/2 window (its writes block) and overflow its live buffer.
    const streams = gw.events.hub.size();
    await append(1500);
    await fast.waitFor(1500, 30_000);
    // A second burst while it stays stalled.
    await append(300);
    const total = 1800;
    const everything = ids(await fast.waitFor(total, 30_000));
    expect(fast.error).toBeUndefined();
    expect(new Set(everything).size).toBe(total);
    // The server ends the stalled stream once the client has taken no byte for EVENTS_STALL_MS (however long
    // the paused client's HTTP/2 stack kept taking bytes after it stopped reading); the fast stream stays.
    await waitUntil("the server to end the stalled stream", () => (gw.events.hub.size() < streams ? true : undefined), 20_000);
    expect(gw.events.hub.size()).toBe(streams - 1);

    // The stalled reader reads again: what was sent, then the resume error.
    const { messages, error } = await slow.readAll();
    slow.close();
    const slowIds = messages.flatMap((m) => (m.event ? [(m.event as { id: string }).id] : []));
    expect(error?.code).toBe("unavailable");
    const last = slowIds[slowIds.length - 1]!;
    expect(error!.message).toContain(`resume with after=${last}`);
    expect(slowIds.length).toBeLessThan(total);
    expect(slowIds).toEqual(everything.slice(0, slowIds.length));

    const resumed = tapEvents(client, { after: last });
    const rest = await resumed.waitFor(total - slowIds.length, 30_000);
    expect([...slowIds, ...ids(rest)]).toEqual(everything);
    await Promise.all([fast.stop(), resumed.stop()]);
  });

  it("never ends a slow reader that keeps taking bytes, however far behind it falls; it catches up losslessly", { timeout: 90_000 }, async () => {
    const org = gw.newOrgId();
    const key = await gw.createKey(org, ["read"]);
    // A reader taking 8 KiB every 100 ms (a small HTTP/2 window too): it reads far slower than events come.
    const slow = openRawConnectStream(gw.url, "/wagateway.v1.SessionService/WatchEvents", key, {}, 8 * 1024);
    await slow.first;
    slow.pause();
    const drip = setInterval(() => slow.drip(8 * 1024), 100);
    const batch: NewEvent[] = Array.from({ length: 10 }, (_, i) => ({
      organizationId: org,
      sessionId: "01ARZ3NDEKTSV4RRFFQ69G5FAV",
      type: "connection.connecting",
      data: { i, padding: "x".repeat(1000) },
    }));
    // Events pile up for 3 × EVENTS_STALL_MS while the reader is blocked almost all the time but never takes nothing.
    let total = 0;
    const until = Date.now() + 4500;
    while (Date.now() < until) {
      await gw.events.log.transact(async () => ({ result: undefined, events: batch }));
      total += batch.length;
      await new Promise((r) => setTimeout(r, 20));
    }
    const behind = total - slow.messages.filter((m) => m.event).length;
    clearInterval(drip);
    expect(behind).toBeGreaterThan(250); // it really fell behind: far past its live buffer (50), so it overflowed and replays

    // Reading at full speed again, it gets everything: nothing lost, repeated or reordered, and no resume error.
    const slowIds = (await slow.readEvents(total, 30_000)).map((m) => (m.event as { id: string }).id);
    slow.close();
    const client = clientFor(SessionService, grpc, gw.url, key);
    const all = tapEvents(client, { after: "0" });
    const everything = ids(await all.waitFor(total, 30_000));
    await all.stop();
    expect(slowIds).toEqual(everything);
  });
});

describe("retention and shutdown", () => {
  it("refuses a resume point older than what retention pruned, and ends streams cleanly on shutdown", async () => {
    const gw = await startTestGateway(backends[0]!);
    const org = gw.newOrgId();
    const client = clientFor(SessionService, grpc, gw.url, await gw.createKey(org, ["manage", "read"]));
    const tap = tapEvents(client);
    await tap.ready;
    for (let i = 0; i < 5; i++) await client.createSession({});
    const got = await tap.waitFor(5);
    expect(await gw.events.log.prune(new Date(0), 2)).toBe(3);
    const drain = async (after: string) => {
      for await (const _ of client.watchEvents({ after })) break;
    };
    await expectApiError(drain(got[0]!.id), "conflict");
    await drain(got[2]!.id); // the horizon itself is fine

    await gw.close();
    await tap.ended;
    expect(tap.error).toBeUndefined();
  });
});

describe.runIf(backends.some((b) => b.name === "postgres"))("fan-out across gateway processes on one PostgreSQL", () => {
  it("a subscriber on gateway A sees gateway B's events, in order", { timeout: 90_000 }, async () => {
    const pgBackend = backends.find((b) => b.name === "postgres")!;
    const a = await startTestGateway(pgBackend, { EVENTS_POLL_MS: "600000" });
    const org = a.newOrgId();
    const key = await a.createKey(org, ["manage", "read"]);
    const b = await spawnGateway({ DATABASE_URL: a.config.databaseUrl!, GATEWAY_ID: "gw-b", EVENTS_POLL_MS: "600000" });
    try {
      const tap = tapEvents(clientFor(SessionService, grpc, a.url, key));
      await tap.ready;
      const viaB = clientFor(SessionService, connectH1, b.url, key);
      const created: string[] = [];
      for (let i = 0; i < 10; i++) created.push((await viaB.createSession({ label: `from B ${i}` })).session!.id);
      const got = await tap.waitFor(10, 10_000);
      expect(got.map((e) => e.sessionId)).toEqual(created);
      await tap.stop();
    } finally {
      await b.stop();
      await a.close();
    }
  });
});
