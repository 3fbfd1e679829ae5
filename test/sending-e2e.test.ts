import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Event } from "../gen/wagateway/v1/event_pb.js";
import { type Message, MessageStatus } from "../gen/wagateway/v1/message_pb.js";
import { MessageService } from "../gen/wagateway/v1/message_service_pb.js";
import { SessionStatus } from "../gen/wagateway/v1/session_pb.js";
import { SessionService } from "../gen/wagateway/v1/session_service_pb.js";
import { backends } from "./support/backends.js";
import { tapEvents, type EventTap } from "./support/event-stream.js";
import { expectApiError } from "./support/expect-error.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";
import { clientFor, transportCases } from "./support/transports.js";
import { waitForStatus, waitUntil } from "./support/wait.js";
import { quietLibsignal, type SimContact, startWaSimulator, type WaSimulator } from "./wa-sim/index.js";

const grpc = transportCases[0]!;
const connectJson = transportCases[1]!;
/** The shortened windows of this suite: "a minute" is 2 s, "an hour" 8 s. */
const minuteMs = 2_000;
const hourMs = 8_000;
let seq = 0;
const newPhone = (prefix: string) => `${prefix}${process.pid % 1000}${String(++seq).padStart(4, "0")}`;

/** The most messages received in any window of `windowMs` that ends at one of `ends` (sim clock, ms). */
function mostInWindow(times: readonly number[], windowMs: number, ends: readonly number[] = times): number {
  return Math.max(0, ...ends.map((end) => times.filter((t) => t > end - windowMs && t <= end).length));
}

describe.each(backends)("sending on $name: idempotency, pacing, typing, restrictions, expiry (real Baileys against the simulator)", (backend) => {
  let sim: WaSimulator;
  let gw: TestGateway;
  let org: string;
  let key: string;
  let sessions: ReturnType<typeof clientFor<typeof SessionService>>;
  let messages: ReturnType<typeof clientFor<typeof MessageService>>;
  let tap: EventTap;
  let id: string;
  let phone: string;
  /** Every contact this suite made. */
  const contacts: SimContact[] = [];
  const contact = (prefix: string) => {
    const c = sim.contact(newPhone(prefix));
    contacts.push(c);
    return c;
  };

  const rest = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}, token = key) =>
    fetch(`${gw.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { "content-type": "application/json" }), ...headers },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
  const text = (to: string, body: string) => ({ session: id, to, content: { case: "text" as const, value: { body } } });
  const send = async (to: SimContact, body: string) => (await messages.sendMessage(text(to.phone, body))).message!;
  const getMessage = async (message: string) => (await messages.getMessage({ session: id, message })).message!;
  const waitStatus = (message: string, status: MessageStatus, timeoutMs = 30_000) =>
    waitUntil(
      `message ${message} ${MessageStatus[status]}`,
      async () => {
        const m = await getMessage(message);
        return m.status === status ? m : undefined;
      },
      timeoutMs,
    );
  /** Receive times (sim clock) of everything this session's number sent to the given contacts. */
  const receiveTimes = (contacts: SimContact[]) =>
    contacts
      .flatMap((c) => c.received())
      .filter((m) => m.from.startsWith(`${phone}:`) || m.from.startsWith(`${phone}@`))
      .map((m) => m.at)
      .sort((a, b) => a - b);
  const pair = async (client: typeof sessions, number: string, create: Parameters<typeof sessions.createSession>[0] = {}) => {
    const { session } = await client.createSession({ start: true, ...create });
    await waitForStatus(client, session!.id, SessionStatus.SCAN_QR_CODE);
    await sim.scanQr((await client.getQrCode({ session: session!.id })).qr, { phoneNumber: number });
    await waitForStatus(client, session!.id, SessionStatus.WORKING);
    return session!.id;
  };

  beforeAll(async () => {
    quietLibsignal();
    sim = await startWaSimulator({ qrRefs: 6 });
    gw = await startTestGateway(backend, {
      WA_WEBSOCKET_URL: sim.url,
      WA_ROOT_PUBLIC_KEY: Buffer.from(sim.rootPublicKey).toString("base64"),
      WA_CONNECT_TIMEOUT_MS: "5000",
      WA_RECONNECT_BASE_MS: "50",
      WA_RECONNECT_MAX_MS: "500",
      OUTBOX_POLL_MS: "500",
      PACING_MINUTE_MS: String(minuteMs),
      PACING_HOUR_MS: String(hourMs),
      // The rates are checked on the simulator's clock: room for a loaded machine's transit times.
      PACING_WINDOW_MARGIN_MS: "750",
      TYPING_MIN_MS: "300",
      TYPING_MS_PER_CHAR: "20",
      TYPING_MAX_MS: "900",
      MESSAGE_EXPIRY_SCAN_MS: "200",
    });
    org = gw.newOrgId();
    key = await gw.createKey(org, ["manage", "read"]);
    sessions = clientFor(SessionService, grpc, gw.url, key);
    messages = clientFor(MessageService, grpc, gw.url, key);
    tap = tapEvents(sessions, { types: ["message.status", "session.restricted"] });
    await tap.ready;
    phone = newPhone("1561");
    id = await pair(sessions, phone, { presenceTyping: true });
  }, 90_000);
  afterAll(async () => {
    await tap?.stop();
    await gw?.close();
    await sim?.close();
  });

  it("the same Idempotency-Key 20 times at once over REST, gRPC and Connect → one message at the contact; another body → conflict; keys are per organization and kept for the key window", async () => {
    const alice = contact("1562");
    const body = { to: alice.phone, text: { body: "exactly once" } };
    const connect = clientFor(MessageService, connectJson, gw.url, key);
    const headers = { "idempotency-key": "order-42" };
    const calls = Array.from({ length: 20 }, async (_, i) => {
      if (i % 3 === 0) {
        const res = await rest("POST", `/api/v1/sessions/${id}/messages`, body, { "Idempotency-Key": '"order-42"' });
        expect(res.status).toBe(202);
        return ((await res.json()) as { id: string }).id;
      }
      const client = i % 3 === 1 ? messages : connect;
      return (await client.sendMessage(text(alice.phone, "exactly once"), { headers })).message!.id;
    });
    const ids = await Promise.all(calls);
    expect(new Set(ids).size).toBe(1);
    const original = await waitStatus(ids[0]!, MessageStatus.SENT);
    await alice.waitForMessage((m) => m.id === original.waMessageId, 15_000);
    // After the send, the same key and request still answer the original.
    const after = await messages.sendMessage(text(alice.phone, "exactly once"), { headers });
    expect(after.message!.id).toBe(original.id);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(alice.received().filter((m) => m.message.extendedTextMessage?.text === "exactly once")).toHaveLength(1);
    expect(sim.frameCount(original.waMessageId!)).toBe(1);

    const other = await rest("POST", `/api/v1/sessions/${id}/messages`, { ...body, text: { body: "something else" } }, headers);
    expect(other.status).toBe(409);
    const err = (await other.json()) as { error: { code: string; message: string } };
    expect(err.error.code).toBe("conflict");
    expect(err.error.message).toMatch(/Idempotency-Key was used with another request/);
    await expectApiError(messages.sendMessage(text(alice.phone, "something else"), { headers }), "conflict");

    // Another organization: its own session, the same key → its own message; our session stays not_found to it.
    const otherKey = await gw.createKey(gw.newOrgId(), ["manage", "read"]);
    const otherSessions = clientFor(SessionService, grpc, gw.url, otherKey);
    const otherMessages = clientFor(MessageService, grpc, gw.url, otherKey);
    const otherPhone = newPhone("1563");
    const otherId = await pair(otherSessions, otherPhone);
    const theirs = (await otherMessages.sendMessage({ ...text(alice.phone, "exactly once"), session: otherId }, { headers })).message!;
    expect(theirs.id).not.toBe(original.id);
    await alice.waitForMessage((m) => m.id === theirs.waMessageId, 15_000);
    await expectApiError(otherMessages.sendMessage(text(alice.phone, "exactly once"), { headers }), "not_found");
    await otherSessions.deleteSession({ session: otherId });

    // Past the key window (24 h by default) the key names a new message.
    await gw.db.updateTable("messages").set({ created_at: new Date(Date.now() - 25 * 3_600_000) }).where("id", "=", original.id).execute();
    const fresh = (await messages.sendMessage(text(alice.phone, "exactly once"), { headers })).message!;
    expect(fresh.id).not.toBe(original.id);
    await alice.waitForMessage((m) => m.id === fresh.waMessageId, 15_000);
  });

  it("typing on: composing … paused, then the message, composing lasting with the text's length; typing off: no chatstate at all", async () => {
    const bob = contact("1564");
    const m = await send(bob, "a message of some forty characters....");
    const got = await bob.waitForMessage((x) => x.id === m.waMessageId, 15_000);
    const line = bob.timeline().filter((e) => e.kind !== "receipt");
    expect(line.map((e) => (e.kind === "chatstate" ? e.state : e.kind))).toEqual(["composing", "paused", "message"]);
    const composing = line[0]!;
    // 300 ms + 20 ms per character, at most 900 ms (the simulator's clock).
    expect(line[1]!.at - composing.at).toBeGreaterThanOrEqual(850);
    expect(got.at).toBeGreaterThanOrEqual(line[1]!.at);

    await sessions.updateSession({ session: id, presenceTyping: false });
    const carol = contact("1565");
    const quiet = await send(carol, "no typing please");
    await carol.waitForMessage((x) => x.id === quiet.waMessageId, 15_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(carol.chatstates()).toEqual([]);
  });

  it("pacing: never more than ratePerMin in any window on the simulator's clock; the queue drains; a lower rate set mid-queue applies to what waits", { timeout: 150_000 }, async () => {
    await sessions.updateSession({ session: id, presenceTyping: false, ratePerMin: 3, ratePerHour: 1000 });
    const dave = contact("1566");
    const total = 15;
    const queued: Message[] = [];
    for (let i = 0; i < total; i++) queued.push(await send(dave, `paced ${i}`));
    // While they wait, GetMessage says when each one is expected to go.
    const waiting = await waitUntil("a notBefore on a waiting message", async () => {
      const m = await getMessage(queued[8]!.id);
      return m.status === MessageStatus.QUEUED && m.notBefore !== undefined ? m : undefined;
    });
    expect(Number(waiting.notBefore)).toBeGreaterThan(Date.now());
    await waitUntil("3 at the contact", () => (dave.received().length >= 3 ? true : undefined), 30_000);
    await sessions.updateSession({ session: id, ratePerMin: 1 });
    const changedAt = Date.now();
    await waitUntil(`all ${total} at the contact`, () => (dave.received().length === total ? true : undefined), 110_000);
    const got = dave.received();
    expect(got.map((m) => m.message.extendedTextMessage?.text)).toEqual(queued.map((_, i) => `paced ${i}`));
    const times = receiveTimes([dave]);
    expect(mostInWindow(times, minuteMs)).toBeLessThanOrEqual(3);
    // One batch taken up under the old rate before the change committed (at most 3) may still arrive after it;
    // every later send keeps the new rate: alone in any window that ends at it.
    const later = times.filter((t) => t > changedAt).slice(3);
    expect(later.length).toBeGreaterThanOrEqual(3);
    expect(mostInWindow(times, minuteMs, later)).toBe(1);
    for (const m of queued) expect((await getMessage(m.id)).status).toBe(MessageStatus.SENT);
  });

  it("a restart does not reset the budget: the hour window is computed from what was sent", async () => {
    await sessions.updateSession({ session: id, ratePerMin: 100, ratePerHour: 3 });
    const erin = contact("1567");
    const first: Message[] = [];
    for (let i = 0; i < 3; i++) first.push(await send(erin, `before restart ${i}`));
    await waitUntil("3 before the restart", () => (erin.received().length === 3 ? true : undefined), 30_000);
    await sessions.stopSession({ session: id });
    await sessions.startSession({ session: id });
    await waitForStatus(sessions, id, SessionStatus.WORKING);
    const second: Message[] = [];
    for (let i = 0; i < 3; i++) second.push(await send(erin, `after restart ${i}`));
    await waitUntil("3 after the restart", () => (erin.received().length === 6 ? true : undefined), 60_000);
    // Every message this number sent in the suite counts: at most 3 in any "hour" (8 s) on the simulator's clock.
    expect(mostInWindow(receiveTimes(contacts), hourMs, receiveTimes([erin]))).toBeLessThanOrEqual(3);
    const firstAt = erin.received().find((m) => m.id === first[0]!.waMessageId)!.at;
    const secondAt = erin.received().find((m) => m.id === second[0]!.waMessageId)!.at;
    expect(secondAt - firstAt).toBeGreaterThanOrEqual(hourMs);
    await sessions.updateSession({ session: id, ratePerMin: 100, ratePerHour: 1000 });
  });

  it("expiry: a message queued on a stopped session past its TTL fails expired; starting the session sends nothing", async () => {
    const fred = contact("1568");
    await sessions.stopSession({ session: id });
    const m = (await messages.sendMessage({ ...text(fred.phone, "too late"), ttlMs: 1_000n })).message!;
    expect(Number(m.expiresAt) - Number(m.createdAt)).toBe(1_000);
    const failed = await waitStatus(m.id, MessageStatus.FAILED, 15_000);
    expect(failed.statusReason).toBe("expired");
    await waitUntil("the expired event", () => tap.events.find((e) => e.type === "message.status" && (e.data as { messageId?: string; reason?: string }).messageId === m.id && (e.data as { reason?: string }).reason === "expired"));
    await sessions.startSession({ session: id });
    await waitForStatus(sessions, id, SessionStatus.WORKING);
    const probe = await send(fred, "fresh");
    await fred.waitForMessage((x) => x.id === probe.waMessageId, 30_000);
    expect(sim.frameCount(m.waMessageId!)).toBe(0);
    expect(fred.received().map((x) => x.message.extendedTextMessage?.text)).toEqual(["fresh"]);
    await expectApiError(messages.sendMessage({ ...text(fred.phone, "x"), ttlMs: 10n }), "validation_error");
  });

  it("463: failed reachout_timelock and never re-sent; the session shows the restriction; new chats are refused while a reply to an existing chat goes out", async () => {
    const friend = contact("1569");
    const stranger = contact("1570");
    const another = contact("1571");
    // The friend wrote to this number: replies to that chat keep flowing.
    await friend.sendText(phone, "hi, it's me");
    await waitUntil("the friend's message stored", async () => {
      const { messages: list } = await messages.listMessages({ session: id, chat: friend.phone });
      return list.length > 0 ? true : undefined;
    });
    stranger.failSends(463, { times: 1, delayMs: 400 });
    const refused = await send(stranger, "hello stranger");
    const failed = await waitStatus(refused.id, MessageStatus.FAILED);
    expect(failed.statusReason).toBe("reachout_timelock");
    const restricted = await waitUntil("session.restricted", () => tap.events.find((e: Event) => e.type === "session.restricted" && e.sessionId === id));
    expect(restricted.data).toMatchObject({ reason: "reachout_timelock", messageId: refused.id, untilKnown: false });
    const { session } = await sessions.getSession({ session: id });
    expect(session!.restriction).toMatchObject({ reason: "reachout_timelock", untilKnown: false, messageId: refused.id });
    expect(Number(session!.restriction!.until)).toBeGreaterThan(Date.now() + 3_600_000);
    const json = (await (await rest("GET", `/api/v1/sessions/${id}`)).json()) as { restriction: { reason: string; until: number } | null };
    expect(json.restriction?.reason).toBe("reachout_timelock");
    expect(typeof json.restriction?.until).toBe("number");

    const again = await send(stranger, "hello again");
    const newChat = await send(another, "hello newcomer");
    const reply = await send(friend, "a reply to my friend");
    await friend.waitForMessage((m) => m.id === reply.waMessageId, 15_000);
    expect((await waitStatus(again.id, MessageStatus.FAILED)).statusReason).toBe("reachout_timelock");
    expect((await waitStatus(newChat.id, MessageStatus.FAILED)).statusReason).toBe("reachout_timelock");
    await new Promise((r) => setTimeout(r, 2_000));
    // The refused one went out once and never again; the held ones never went out.
    expect(sim.frameCount(refused.waMessageId!)).toBe(1);
    expect(sim.frameCount(again.waMessageId!)).toBe(0);
    expect(sim.frameCount(newChat.waMessageId!)).toBe(0);
    expect((await getMessage(refused.id)).status).toBe(MessageStatus.FAILED);
    // Other error codes are `rejected` with the code, and restrict nothing.
    friend.failSends(479, { times: 1, delayMs: 400 });
    const other = await send(friend, "refused for another reason");
    const otherFailed = await waitStatus(other.id, MessageStatus.FAILED);
    expect(otherFailed.statusReason).toBe("rejected");
    const ev = await waitUntil("rejected event", () => tap.events.find((e) => e.type === "message.status" && (e.data as { messageId?: string }).messageId === other.id && (e.data as { status?: string }).status === "failed"));
    expect(ev.data).toMatchObject({ reason: "rejected", errorCode: 479 });
    expect(sim.messagingErrors()).toEqual([]);
  });
});
