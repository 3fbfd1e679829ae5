import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import type { Message } from "../gen/wagateway/v1/message_pb.js";
import { MessageService } from "../gen/wagateway/v1/message_service_pb.js";
import { SessionStatus } from "../gen/wagateway/v1/session_pb.js";
import { SessionService } from "../gen/wagateway/v1/session_service_pb.js";
import { backends } from "./support/backends.js";
import { type GatewayProcess, runCli, spawnGateway } from "./support/gateway-process.js";
import { createScratchDatabase, type ScratchDatabase } from "./support/scratch-database.js";
import { clientFor, transportCases } from "./support/transports.js";
import { waitForStatus, waitUntil } from "./support/wait.js";
import { quietLibsignal, type SimContact, startWaSimulator, type WaSimulator } from "./wa-sim/index.js";

const pgBackend = backends.find((b) => b.name === "postgres");
const grpc = transportCases[0]!;
const connectJson = transportCases[1]!;
const names = ["gw-a", "gw-b", "gw-c"];
/** "A minute" of this drill: 2 s, at most `ratePerMin` sends of a session in any of them. */
const minuteMs = 2_000;
const ratePerMin = 10;
const sessionCount = 4;
const perSession = 50;

/** The most of `times` in any window of `windowMs` (sim clock). */
const mostInWindow = (times: readonly number[], windowMs: number) => Math.max(0, ...times.map((end) => times.filter((t) => t > end - windowMs && t <= end).length));

describe.runIf(pgBackend)("failover drill: three gateways on one PostgreSQL, the holder SIGKILLed mid-queue", { timeout: 600_000 }, () => {
  let sim: WaSimulator;
  let scratch: ScratchDatabase;
  let db: pg.Client;
  let key: string;
  const procs = new Map<string, GatewayProcess>();
  const sessionIds: string[] = [];
  const phones: string[] = [];

  const start = async (name: string) => {
    const p = await spawnGateway({
      DATABASE_URL: scratch.url,
      GATEWAY_ID: name,
      WA_WEBSOCKET_URL: sim.url,
      WA_ROOT_PUBLIC_KEY: Buffer.from(sim.rootPublicKey).toString("base64"),
      WA_SCAN_MS: "500",
      LEASE_TTL_MS: "3000",
      WA_RECONNECT_BASE_MS: "50",
      WA_RECONNECT_MAX_MS: "500",
      WA_LOG_LEVEL: "error",
      OUTBOX_POLL_MS: "500",
      PACING_MINUTE_MS: String(minuteMs),
      PACING_HOUR_MS: "60000",
      // The rate is checked on the simulator's clock: room for a loaded machine's transit times.
      PACING_WINDOW_MARGIN_MS: "750",
    });
    procs.set(name, p);
    return p;
  };
  const url = (name: string) => procs.get(name)!.url;

  beforeAll(async () => {
    quietLibsignal();
    sim = await startWaSimulator({ qrRefs: 6 });
    scratch = await createScratchDatabase(pgBackend!.databaseUrl!);
    db = new pg.Client({ connectionString: scratch.url });
    await db.connect();
    await Promise.all(names.map(start));
    key = (await runCli(["apikey", "create", "--org", "org_drill", "--name", "t", "--permissions", "manage,read"], { DATABASE_URL: scratch.url })).stdout.trim();
    const sessions = clientFor(SessionService, grpc, url("gw-a"), key);
    for (let i = 0; i < sessionCount; i++) {
      const phone = `1558${process.pid % 1000}${String(i).padStart(4, "0")}`;
      const { session } = await sessions.createSession({ start: true, presenceTyping: false, ratePerMin, ratePerHour: 10_000 });
      await waitForStatus(sessions, session!.id, SessionStatus.SCAN_QR_CODE, 60_000);
      await sim.scanQr((await sessions.getQrCode({ session: session!.id })).qr, { phoneNumber: phone });
      await waitForStatus(sessions, session!.id, SessionStatus.WORKING, 60_000);
      sessionIds.push(session!.id);
      phones.push(phone);
    }
  }, 300_000);
  afterAll(async () => {
    await Promise.all([...procs.values()].map((p) => p.stop("SIGKILL").catch(() => {})));
    await db?.end();
    await sim?.close();
    await scratch?.drop();
  });

  it("the same Idempotency-Key 20 times at once across the three gateways and three protocols → one message at the contact", async () => {
    const id = sessionIds[0]!;
    const contact = sim.contact(`1559${process.pid % 1000}0000`);
    const headers = { "idempotency-key": "drill-once" };
    const req = { session: id, to: contact.phone, content: { case: "text" as const, value: { body: "once across the cluster" } } };
    const ids = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const gw = url(names[i % 3]!);
        const protocol = Math.floor(i / 3) % 3;
        if (protocol === 0) {
          const res = await fetch(`${gw}/api/v1/sessions/${id}/messages`, {
            method: "POST",
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
            body: JSON.stringify({ to: contact.phone, text: { body: "once across the cluster" } }),
          });
          expect(res.status).toBe(202);
          return ((await res.json()) as { id: string }).id;
        }
        const client = clientFor(MessageService, protocol === 1 ? grpc : connectJson, gw, key);
        return (await client.sendMessage(req, { headers })).message!.id;
      }),
    );
    expect(new Set(ids).size).toBe(1);
    const row = await waitUntil("sent", async () => {
      const r = await db.query<{ status: string; wa_message_id: string }>("select status, wa_message_id from messages where id = $1", [ids[0]]);
      return r.rows[0]?.status === "sent" ? r.rows[0] : undefined;
    }, 30_000);
    await contact.waitForMessage((m) => m.id === row.wa_message_id, 15_000);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(contact.received()).toHaveLength(1);
    expect(sim.frameCount(row.wa_message_id)).toBe(1);
    const count = await db.query<{ n: string }>("select count(*) as n from messages where session_id = $1 and direction = 'out' and content->'text'->>'body' = 'once across the cluster'", [id]);
    expect(Number(count.rows[0]!.n)).toBe(1);
  });

  it(`${sessionCount * perSession} messages over ${sessionCount} sessions, the holder SIGKILLed mid-way: each at its contact exactly once by WhatsApp id, in per-chat order, the rate held across the take-over`, async () => {
    const contacts: SimContact[][] = sessionIds.map((_, s) => [0, 1].map((c) => sim.contact(`1560${process.pid % 1000}${s}${c}00`)));
    const holderOf = async (id: string) => (await db.query<{ gateway_id: string | null }>("select gateway_id from sessions where id = $1", [id])).rows[0]?.gateway_id ?? undefined;
    const victim = (await holderOf(sessionIds[0]!))!;
    const survivors = names.filter((n) => n !== victim);
    const victimSessions = (await Promise.all(sessionIds.map(async (id) => ((await holderOf(id)) === victim ? id : undefined)))).filter((x): x is string => x !== undefined);
    // Queued through the gateways that survive (the outbox is in the database), in order per session.
    const sent: Message[][] = sessionIds.map(() => []);
    const startedAt = Date.now();
    const queueing = Promise.all(
      sessionIds.map(async (id, s) => {
        const client = clientFor(MessageService, grpc, url(survivors[s % survivors.length]!), key);
        for (let i = 0; i < perSession; i++) {
          const to = contacts[s]![i % 2]!;
          const via = survivors[s % survivors.length]!;
          const res = await client.sendMessage({ session: id, to: to.phone, content: { case: "text", value: { body: `s${s} m${i}` } } }).catch((err: unknown) => {
            // Name what the gateway logged: CI keeps only the test's own words.
            throw new Error(`send ${i} of session ${s} through ${via}: ${String(err)}\n${via} logged:\n${procs.get(via)?.errors() ?? ""}`);
          });
          sent[s]!.push(res.message!);
        }
      }),
    );
    const receivedOf = () => contacts.flat().reduce((n, c) => n + c.received().length, 0);
    const total = sessionCount * perSession;
    await waitUntil("a third at the contacts", () => (receivedOf() >= total / 3 ? true : undefined), 120_000);
    const atKill = receivedOf();
    const killedAt = Date.now();
    await procs.get(victim)!.stop("SIGKILL");
    procs.delete(victim);
    await queueing;
    const statesAtKill = (await db.query<{ status: string; n: string }>("select status, count(*) as n from messages where session_id = any($1) group by status", [sessionIds])).rows;
    // Take-over: the first message of a session the victim held that reaches its contact after the kill.
    const victimPhones = new Set(victimSessions.map((id) => phones[sessionIds.indexOf(id)]!));
    const firstAfter = await waitUntil("a message of a taken-over session after the kill", () => {
      const t = contacts
        .flat()
        .flatMap((c) => c.received())
        .filter((m) => m.at > killedAt && victimPhones.has(m.from.split(/[:@]/)[0]!))
        .map((m) => m.at);
      return t.length > 0 ? Math.min(...t) : undefined;
    }, 60_000);
    await waitUntil("every message at its contact", () => (receivedOf() >= total ? true : undefined), 180_000);
    const doneAt = Date.now();
    await new Promise((r) => setTimeout(r, 1_000));

    let lost = 0;
    let duplicated = 0;
    let resent = 0;
    for (let s = 0; s < sessionCount; s++) {
      const mine = sent[s]!;
      const wanted = new Set(mine.map((m) => m.waMessageId));
      const got = contacts[s]!.flatMap((c) => c.received()).filter((m) => wanted.has(m.id));
      const ids = got.map((m) => m.id);
      lost += mine.length - new Set(ids).size;
      duplicated += ids.length - new Set(ids).size;
      // A message on the wire when its holder died goes out again under the same id (the phone shows it once): reported.
      resent += contacts[s]!.reduce((n, c) => n + c.duplicates().length, 0);
      // Per chat, in the order they were sent.
      for (const [c, contact] of contacts[s]!.entries()) {
        const expected = mine.filter((_, i) => i % 2 === c).map((m) => m.waMessageId);
        expect(contact.received().map((m) => m.id)).toEqual(expected);
      }
      // The rate held, the take-over included: at most ratePerMin in any window on the simulator's clock.
      const times = got.map((m) => m.at).sort((a, b) => a - b);
      expect(mostInWindow(times, minuteMs)).toBeLessThanOrEqual(ratePerMin);
    }
    expect(lost).toBe(0);
    expect(duplicated).toBe(0);
    const rows = await db.query<{ status: string; n: string }>("select status, count(*) as n from messages where session_id = any($1) and content->'text'->>'body' like 's%' group by status", [sessionIds]);
    expect(Object.fromEntries(rows.rows.map((r) => [r.status, Number(r.n)]))).toEqual({ sent: total });
    const rawDuplicates = sim.duplicateFrames().length;
    console.info(
      `DRILL ${JSON.stringify({
        messages: total,
        sessions: sessionCount,
        gateways: names.length,
        victim,
        victimSessions: victimSessions.length,
        atContactsAtKill: atKill,
        rowsAtKill: Object.fromEntries(statesAtKill.map((r) => [r.status, Number(r.n)])),
        takeOverMs: firstAfter - killedAt,
        drainSeconds: Math.round((doneAt - startedAt) / 100) / 10,
        lost,
        duplicatedById: duplicated,
        resentSameIdDecrypted: resent,
        resentFramesSameId: rawDuplicates,
        ratePerWindow: `${ratePerMin} per ${minuteMs} ms`,
      })}`,
    );
    expect(sim.messagingErrors()).toEqual([]);
  });
});
