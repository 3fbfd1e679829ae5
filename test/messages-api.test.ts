import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MessageDirection, MessageStatus, MessageType } from "../gen/wagateway/v1/message_pb.js";
import { MessageService } from "../gen/wagateway/v1/message_service_pb.js";
import { LeaseLostError } from "../src/cluster/lease-lost-error.js";
import { postgresSessionLeases } from "../src/cluster/session-leases.js";
import { createMessageStore } from "../src/messages/message-store.js";
import { fetchMedia, isPrivateAddress } from "../src/messages/media-fetch.js";
import { ulid } from "../src/util/ulid.js";
import { backends } from "./support/backends.js";
import { errorFields, expectApiError } from "./support/expect-error.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";
import { clientFor, transportCases } from "./support/transports.js";

const noFence = async () => {};

describe.each(backends)("messages API on $name", (backend) => {
  let gw: TestGateway;
  let org: string;
  let key: string;
  let readKey: string;
  let otherKey: string;
  let session: string;
  let unpaired: string;

  const rest = (method: string, path: string, body?: unknown, token = key, headers: Record<string, string> = {}) =>
    fetch(`${gw.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { "content-type": "application/json" }), ...headers },
      ...(body !== undefined && { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
  const newSession = async (paired: boolean) => {
    const res = await rest("POST", "/api/v1/sessions", { label: "msg" });
    const id = ((await res.json()) as { id: string }).id;
    if (paired) await gw.db.updateTable("sessions").set({ phone_number: "15550001111", wa_jid: "15550001111@s.whatsapp.net" }).where("id", "=", id).execute();
    return id;
  };

  beforeAll(async () => {
    gw = await startTestGateway(backend, { MAX_MEDIA_BYTES: "2048", MAX_BODY_BYTES: "65536" });
    org = gw.newOrgId();
    key = await gw.createKey(org, ["manage", "read"]);
    readKey = await gw.createKey(org, ["read"]);
    otherKey = await gw.createKey(gw.newOrgId(), ["manage", "read"]);
    // A paired session that is stopped: sends wait in the outbox.
    session = await newSession(true);
    unpaired = await newSession(false);
  });
  afterAll(() => gw?.close());

  it("REST send answers 202 with the stored message, queued, every key present, and a message.status event", async () => {
    const res = await rest("POST", `/api/v1/sessions/${session}/messages`, { to: "+62 812-3456-7890", text: { body: "Hello" }, replyTo: null, mentions: [] });
    expect(res.status).toBe(202);
    const m = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(m).sort()).toEqual(
      ["id", "sessionId", "organizationId", "waMessageId", "direction", "source", "chatId", "contact", "type", "content", "replyTo", "mentions", "status", "statusReason", "createdAt", "sentAt", "deliveredAt", "readAt", "notBefore", "expiresAt"].sort(),
    );
    expect(m).toMatchObject({
      sessionId: session,
      organizationId: org,
      direction: "out",
      source: "api",
      chatId: "6281234567890@s.whatsapp.net",
      contact: { phone: "6281234567890", lid: null, pushName: null },
      type: "text",
      replyTo: null,
      mentions: [],
      status: "queued",
      statusReason: null,
      sentAt: null,
    });
    expect((m.content as Record<string, unknown>).text).toEqual({ body: "Hello", linkPreview: false });
    expect(m.waMessageId).toMatch(/^3EB0[0-9A-F]{18}$/);
    expect(m.expiresAt as number).toBeGreaterThan(m.createdAt as number);
    const events = await gw.db.selectFrom("events").selectAll().where("session_id", "=", session).where("type", "=", "message.status").execute();
    expect(events.map((e) => e.data)).toContainEqual({ messageId: m.id, status: "queued", previous: null, reason: null });
    const got = await rest("GET", `/api/v1/sessions/${session}/messages/${m.id as string}`, undefined, readKey);
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual(m);
  });

  describe.each(transportCases.slice(0, 2))("over $name", (tc) => {
    it("sends every content kind into the outbox", async () => {
      const client = clientFor(MessageService, tc, gw.url, key);
      const base = await client.sendMessage({ session, to: "6281234567890@s.whatsapp.net", content: { case: "text", value: { body: "base", linkPreview: true } } });
      const id = base.message!.id;
      const kinds = [
        { case: "image", value: { data: new Uint8Array(100).fill(1), caption: "pic", mimetype: "image/png" } },
        { case: "video", value: { url: "https://example.com/v.mp4", caption: "vid" } },
        { case: "audio", value: { data: new Uint8Array(10), voice: true } },
        { case: "document", value: { url: "https://example.com/a.pdf", filename: "a.pdf", mimetype: "application/pdf" } },
        { case: "location", value: { latitude: -6.2, longitude: 106.8, name: "Jakarta" } },
        { case: "contact", value: { displayName: "Ann", vcard: "BEGIN:VCARD\nVERSION:3.0\nFN:Ann\nEND:VCARD" } },
        { case: "reaction", value: { messageId: id, emoji: "👍" } },
        { case: "revoke", value: { messageId: id } },
      ] as const;
      const types = [];
      for (const content of kinds) {
        const { message } = await client.sendMessage({ session, to: "6281234567890", content: content as never });
        expect(message!.status).toBe(MessageStatus.QUEUED);
        types.push(message!.type);
      }
      expect(types).toEqual([MessageType.IMAGE, MessageType.VIDEO, MessageType.AUDIO, MessageType.DOCUMENT, MessageType.LOCATION, MessageType.CONTACT, MessageType.REACTION, MessageType.REVOKE]);
      const reply = await client.sendMessage({ session, to: "6281234567890", content: { case: "text", value: { body: "re" } }, replyTo: id, mentions: ["+6281234567890", "205227043110953@lid"] });
      expect(reply.message).toMatchObject({ replyTo: id, mentions: ["6281234567890@s.whatsapp.net", "205227043110953@lid"] });
      const audio = await client.getMessage({ session, message: (await client.listMessages({ session, pageSize: 500 })).messages.find((x) => x.type === MessageType.AUDIO)!.id });
      expect(audio.message!.content!.kind).toMatchObject({ case: "audio", value: { voice: true, mimetype: "audio/ogg; codecs=opus", size: 10n } });
      // Inline bytes are not echoed back.
      expect((audio.message!.content!.kind.value as { data?: Uint8Array }).data).toBeUndefined();
    });
  });

  it("Idempotency-Key: same key and body → the original; another body → conflict", async () => {
    const body = { to: "6281234567890", text: { body: "once" } };
    const a = await rest("POST", `/api/v1/sessions/${session}/messages`, body, key, { "idempotency-key": "k-1" });
    const b = await rest("POST", `/api/v1/sessions/${session}/messages`, body, key, { "idempotency-key": "k-1" });
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    const first = ((await a.json()) as { id: string }).id;
    expect(((await b.json()) as { id: string }).id).toBe(first);
    const c = await rest("POST", `/api/v1/sessions/${session}/messages`, { ...body, text: { body: "other" } }, key, { "idempotency-key": "k-1" });
    expect(c.status).toBe(409);
    const client = clientFor(MessageService, transportCases[0]!, gw.url, key);
    const viaGrpc = await client.sendMessage({ session, to: "6281234567890", content: { case: "text", value: { body: "g" } } }, { headers: { "idempotency-key": "k-2" } });
    const again = await client.sendMessage({ session, to: "6281234567890", content: { case: "text", value: { body: "g" } } }, { headers: { "idempotency-key": "k-2" } });
    expect(again.message!.id).toBe(viaGrpc.message!.id);
    // Each message has its one `queued` event: a replay or a conflict appends none.
    for (const id of [first, viaGrpc.message!.id]) {
      const events = await gw.db.selectFrom("events").select("data").where("session_id", "=", session).where("type", "=", "message.status").execute();
      expect(events.filter((e) => (e.data as { messageId?: string }).messageId === id).map((e) => (e.data as { status: string }).status)).toEqual(["queued"]);
    }
  });

  it("bad input is a validation_error naming the field; missing things are not_found; unpaired is conflict", async () => {
    const send = (body: unknown, s = session) => rest("POST", `/api/v1/sessions/${s}/messages`, body);
    const expectError = async (res: Response, status: number, code: string, field?: string) => {
      const body = (await res.json()) as { error: { code: string; message: string; details: { fields?: Record<string, string> } } };
      expect({ status: res.status, code: body.error.code }, body.error.message).toEqual({ status, code });
      if (field) expect(Object.keys(body.error.details.fields ?? {})).toContain(field);
      return body.error;
    };
    await expectError(await send({ to: "6281234567890", text: { body: "x" } }, ulid()), 404, "not_found");
    await expectError(await send({ to: "6281234567890", text: { body: "x" } }, "nope"), 400, "validation_error", "session");
    await expectError(await send({ to: "12ab", text: { body: "x" } }), 400, "validation_error", "to");
    const group = await expectError(await send({ to: "120363025246125486@g.us", text: { body: "x" } }), 400, "validation_error", "to");
    expect(group.details.fields!.to).toMatch(/groups are not supported yet/);
    await expectError(await send({ to: "6281234567890", text: { body: "  " } }), 400, "validation_error", "text.body");
    await expectError(await send({ to: "6281234567890" }), 400, "validation_error", "content");
    await expectError(await send({ to: "6281234567890", text: { body: "a" }, image: { url: "https://example.com/x.png" } }), 400, "validation_error");
    await expectError(await send({ to: "6281234567890", image: { url: "https://example.com/x.png", data: "AAAA" } }), 400, "validation_error", "image.url");
    await expectError(await send({ to: "6281234567890", image: { data: Buffer.alloc(4096).toString("base64") } }), 400, "validation_error", "image.data");
    await expectError(await send({ to: "6281234567890", image: { url: "https://127.0.0.1/x.png" } }), 400, "validation_error", "image.url");
    await expectError(await send({ to: "6281234567890", image: { url: "https://10.1.2.3/x.png" } }), 400, "validation_error", "image.url");
    await expectError(await send({ to: "6281234567890", image: { url: "https://localhost/x.png" } }), 400, "validation_error", "image.url");
    await expectError(await send({ to: "6281234567890", document: { url: "http://example.com/x.pdf" } }), 400, "validation_error", "document.url");
    await expectError(await send({ to: "6281234567890", location: { latitude: 91, longitude: 0 } }), 400, "validation_error", "location.latitude");
    await expectError(await send({ to: "6281234567890", contact: { displayName: "A", vcard: "hello" } }), 400, "validation_error", "contact.vcard");
    await expectError(await send({ to: "6281234567890", reaction: { messageId: ulid(), emoji: "👍" } }), 404, "not_found", "reaction.messageId");
    await expectError(await send({ to: "6281234567890", revoke: { messageId: ulid() } }), 404, "not_found", "revoke.messageId");
    await expectError(await send({ to: "6281234567890", text: { body: "x" }, replyTo: ulid() }), 404, "not_found", "replyTo");
    await expectError(await send({ to: "6281234567890", text: { body: "x" }, unknownField: 1 }), 400, "validation_error");
    await expectError(await send("{not json"), 400, "validation_error");
    await expectError(await send({ to: "6281234567890", text: { body: "x" } }, unpaired), 409, "conflict");
    await expectError(await rest("GET", `/api/v1/sessions/${session}/messages?pageSize=0`), 400, "validation_error", "pageSize");
    await expectError(await rest("GET", `/api/v1/sessions/${session}/messages?cursor=bogus`), 400, "validation_error", "cursor");
    await expectError(await rest("GET", `/api/v1/sessions/${session}/messages?chat=1@g.us`), 400, "validation_error", "chat");
    await expectError(await rest("GET", `/api/v1/sessions/${session}/messages/${ulid()}`), 404, "not_found");
    await expectError(await rest("POST", `/api/v1/sessions/${session}/check-numbers`, { phones: [] }), 400, "validation_error", "phones");
    await expectError(await rest("POST", `/api/v1/sessions/${session}/check-numbers`, { phones: ["abc"] }), 400, "validation_error", "phones[0]");
    // A stopped session has no socket to ask WhatsApp with.
    await expectError(await rest("POST", `/api/v1/sessions/${session}/check-numbers`, { phones: ["6281234567890"] }), 409, "conflict");
    // Nothing half-written: every refused send left no row.
    const rows = await gw.db.selectFrom("messages").select("id").where("session_id", "=", unpaired).execute();
    expect(rows).toEqual([]);
  });

  it("a session unpaired or deleted right after a send refuses the next one (conflict, not_found) and keeps no row of it", async () => {
    const send = (s: string, body: string) => rest("POST", `/api/v1/sessions/${s}/messages`, { to: "6281234567890", text: { body } });
    const codeOf = async (res: Response) => ({ status: res.status, code: ((await res.json()) as { error?: { code: string } }).error?.code });
    const a = await newSession(true);
    expect((await send(a, "first")).status).toBe(202);
    // Unpaired behind this gateway's back (as by a logout on another gateway): the send is refused.
    await gw.db.updateTable("sessions").set({ phone_number: null }).where("id", "=", a).execute();
    expect(await codeOf(await send(a, "after unpairing"))).toEqual({ status: 409, code: "conflict" });
    const b = await newSession(true);
    expect((await send(b, "first")).status).toBe(202);
    await gw.db.deleteFrom("sessions").where("id", "=", b).execute();
    expect(await codeOf(await send(b, "after deleting"))).toEqual({ status: 404, code: "not_found" });
    const bodies = await gw.db.selectFrom("messages").select("content").where("session_id", "in", [a, b]).execute();
    expect(bodies.map((r) => (r.content as { text?: { body?: string } }).text?.body)).toEqual(["first"]);
  });

  it("over gRPC too: group JID and empty text are invalid_argument naming the field", async () => {
    const client = clientFor(MessageService, transportCases[0]!, gw.url, key);
    const e1 = await expectApiError(client.sendMessage({ session, to: "1203630@g.us", content: { case: "text", value: { body: "x" } } }), "validation_error");
    expect(Object.keys(errorFields(e1))).toEqual(["to"]);
    const e2 = await expectApiError(client.sendMessage({ session, to: "6281234567890", content: { case: "text", value: { body: "" } } }), "validation_error");
    expect(Object.keys(errorFields(e2))).toEqual(["text.body"]);
  });

  it("another organization gets not_found on every message route; read cannot send", async () => {
    const { id } = (await (await rest("POST", `/api/v1/sessions/${session}/messages`, { to: "6281234567890", text: { body: "mine" } })).json()) as { id: string };
    const probes: [string, string, unknown?][] = [
      ["POST", `/api/v1/sessions/${session}/messages`, { to: "6281234567890", text: { body: "x" } }],
      ["GET", `/api/v1/sessions/${session}/messages`],
      ["GET", `/api/v1/sessions/${session}/messages/${id}`],
      ["GET", `/api/v1/sessions/${session}/messages/${id}/media`],
      ["POST", `/api/v1/sessions/${session}/check-numbers`, { phones: ["6281234567890"] }],
    ];
    for (const [method, path, body] of probes) {
      const res = await rest(method, path, body, otherKey);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
    }
    const client = clientFor(MessageService, transportCases[0]!, gw.url, otherKey);
    await expectApiError(client.getMessage({ session, message: id }), "not_found");
    await expectApiError(client.listMessages({ session }), "not_found");
    const forbidden = await rest("POST", `/api/v1/sessions/${session}/messages`, { to: "6281234567890", text: { body: "x" } }, readKey);
    expect(forbidden.status).toBe(403);
    expect((await rest("GET", `/api/v1/sessions/${session}/messages`, undefined, readKey)).status).toBe(200);
  });

  it("GetMessageMedia: a text message has no media (not_found, JSON error)", async () => {
    const { id } = (await (await rest("POST", `/api/v1/sessions/${session}/messages`, { to: "6281234567890", text: { body: "t" } })).json()) as { id: string };
    const res = await rest("GET", `/api/v1/sessions/${session}/messages/${id}/media`);
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
  });

  it("ListMessages: newest first, real cursor pages, filters by chat, direction and time", async () => {
    const s = await newSession(true);
    const store = createMessageStore(gw.db, gw.events.log);
    const t0 = Date.UTC(2026, 0, 1);
    // 12 messages: even ones inbound from A, odd ones outbound to B; two share a timestamp (seq breaks the tie).
    for (let i = 0; i < 12; i++) {
      const inbound = i % 2 === 0;
      const at = new Date(t0 + (i === 5 ? 4 : i) * 1000);
      await store.storeReceived(
        {
          id: ulid(at.getTime()),
          organization_id: org,
          session_id: s,
          wa_message_id: `WA${i}`,
          direction: inbound ? "in" : "out",
          source: inbound ? "contact" : "phone",
          chat_id: inbound ? "111111111@s.whatsapp.net" : "222222222@lid",
          contact_phone: inbound ? "111111111" : null,
          contact_lid: inbound ? null : "222222222@lid",
          contact_push_name: null,
          type: "text",
          content: JSON.stringify({ text: { body: `m${i}`, linkPreview: false } }),
          media_data: null,
          wa_message: null,
          reply_to: null,
          mentions: "[]",
          status: inbound ? "received" : "sent",
          status_reason: null,
          idempotency_key: null,
          request_hash: null,
          created_at: at,
          sent_at: null,
          delivered_at: null,
          read_at: null,
          not_before: null,
          expires_at: null,
          updated_at: new Date(),
        },
        (row) => [{ type: "message.received", data: { id: row.id } }],
        noFence,
      );
    }
    const client = clientFor(MessageService, transportCases[1]!, gw.url, readKey);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await client.listMessages({ session: s, pageSize: 5, cursor });
      seen.push(...page.messages.map((m) => (m.content!.kind.value as { body: string }).body));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(["m11", "m10", "m9", "m8", "m7", "m6", "m5", "m4", "m3", "m2", "m1", "m0"]);
    const inbound = await client.listMessages({ session: s, direction: MessageDirection.IN, pageSize: 100 });
    expect(inbound.messages.map((m) => m.waMessageId)).toEqual(["WA10", "WA8", "WA6", "WA4", "WA2", "WA0"]);
    const byPhone = await client.listMessages({ session: s, chat: "+111111111", pageSize: 100 });
    expect(byPhone.messages).toHaveLength(6);
    const byLid = await client.listMessages({ session: s, chat: "222222222@lid", pageSize: 100 });
    expect(byLid.messages.every((m) => m.direction === MessageDirection.OUT)).toBe(true);
    const window = await client.listMessages({ session: s, since: BigInt(t0 + 3000), until: BigInt(t0 + 6000), pageSize: 100 });
    expect(window.messages.map((m) => m.waMessageId)).toEqual(["WA5", "WA4", "WA3"]);
    const rest1 = (await (await rest("GET", `/api/v1/sessions/${s}/messages?pageSize=2&direction=out`, undefined, readKey)).json()) as { messages: { waMessageId: string }[]; nextCursor: string | null };
    expect(rest1.messages.map((m) => m.waMessageId)).toEqual(["WA11", "WA9"]);
    expect(typeof rest1.nextCursor).toBe("string");
    const last = (await (await rest("GET", `/api/v1/sessions/${s}/messages?pageSize=100&direction=out`, undefined, readKey)).json()) as { nextCursor: string | null };
    expect(last.nextCursor).toBeNull();
  });

  it("store: a received message is stored once per session and WhatsApp id, with one event", async () => {
    const s = await newSession(true);
    const store = createMessageStore(gw.db, gw.events.log);
    const row = (id: string) => ({
      id,
      organization_id: org,
      session_id: s,
      wa_message_id: "DUP1",
      direction: "in",
      source: "contact",
      chat_id: "111@s.whatsapp.net",
      contact_phone: "111",
      contact_lid: null,
      contact_push_name: "A",
      type: "text",
      content: JSON.stringify({ text: { body: "x", linkPreview: false } }),
      media_data: null,
      wa_message: null,
      reply_to: null,
      mentions: "[]",
      status: "received",
      status_reason: null,
      idempotency_key: null,
      request_hash: null,
      created_at: new Date(),
      sent_at: null,
      delivered_at: null,
      read_at: null,
      not_before: null,
      expires_at: null,
      updated_at: new Date(),
    });
    const first = await store.storeReceived(row(ulid()), (r) => [{ type: "message.received", data: { id: r.id } }], noFence);
    const second = await store.storeReceived(row(ulid()), (r) => [{ type: "message.received", data: { id: r.id } }], noFence);
    expect(first).toBeDefined();
    expect(second).toBeUndefined();
    const events = await gw.db.selectFrom("events").select("type").where("session_id", "=", s).where("type", "=", "message.received").execute();
    expect(events).toHaveLength(1);
  });

  it("fencing: outbox writes of a holder whose lease was taken over are refused and change nothing", async () => {
    const s = await newSession(true);
    const store = createMessageStore(gw.db, gw.events.log);
    const sent = await rest("POST", `/api/v1/sessions/${s}/messages`, { to: "6281234567890", text: { body: "fenced" } });
    const { id, waMessageId } = (await sent.json()) as { id: string; waMessageId: string };
    await gw.db.insertInto("session_leases").values({ session_id: s, holder: "gw-old", epoch: "1" }).execute();
    const leases = postgresSessionLeases(gw.db);
    const oldFence = leases.fence(s, { holder: "gw-old", epoch: "1" });
    expect(await store.transition(s, id, { to: "sending", from: ["queued"] }, oldFence)).toMatchObject({ status: "sending" });
    // Another gateway takes the session over (a new epoch).
    await gw.db.updateTable("session_leases").set({ holder: "gw-new", epoch: "2" }).where("session_id", "=", s).execute();
    const eventsBefore = await gw.db.selectFrom("events").select("id").where("session_id", "=", s).execute();
    await expect(store.transition(s, id, { to: "sent", from: ["sending"] }, oldFence)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(store.receipt(s, waMessageId, "delivered", new Date(), oldFence)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(store.failPending(s, "logged_out", oldFence)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(
      store.storeReceived({ ...(await gw.db.selectFrom("messages").selectAll().where("id", "=", id).executeTakeFirstOrThrow()), id: ulid(), wa_message_id: "X", content: "{}", mentions: "[]", seq: undefined } as never, () => [], oldFence),
    ).rejects.toBeInstanceOf(LeaseLostError);
    const row = await gw.db.selectFrom("messages").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
    expect(row.status).toBe("sending");
    expect(await gw.db.selectFrom("events").select("id").where("session_id", "=", s).execute()).toHaveLength(eventsBefore.length);
    // The new holder moves it on; a left-over `sending` keeps its WhatsApp id for the resend.
    const newFence = leases.fence(s, { holder: "gw-new", epoch: "2" });
    const pending = await store.pending(s, 10);
    expect(pending.map((p) => [p.id, p.status, p.wa_message_id])).toEqual([[id, "sending", waMessageId]]);
    expect(await store.receipt(s, waMessageId, "delivered", new Date(), newFence)).toMatchObject({ status: "delivered" });
    expect(await store.receipt(s, waMessageId, "delivered", new Date(), newFence)).toBeUndefined(); // never twice, never back
    expect(await store.receipt(s, waMessageId, "read", new Date(), newFence)).toMatchObject({ status: "read" });
    const statuses = await gw.db.selectFrom("events").select("data").where("session_id", "=", s).where("type", "=", "message.status").orderBy("id").execute();
    expect(statuses.map((e) => [e.data.previous, e.data.status])).toEqual([[null, "queued"], ["queued", "sending"], ["sending", "delivered"], ["delivered", "read"]]);
  });

  it("logged out: the queue fails with reason logged_out; retention prunes old messages but never the queue", async () => {
    const s = await newSession(true);
    const store = createMessageStore(gw.db, gw.events.log);
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(((await (await rest("POST", `/api/v1/sessions/${s}/messages`, { to: "6281234567890", text: { body: `q${i}` } })).json()) as { id: string }).id);
    expect(await store.failPending(s, "logged_out", noFence)).toBe(3);
    const rows = await gw.db.selectFrom("messages").select(["status", "status_reason"]).where("session_id", "=", s).execute();
    expect(rows.every((r) => r.status === "failed" && r.status_reason === "logged_out")).toBe(true);
    const queued = ((await (await rest("POST", `/api/v1/sessions/${s}/messages`, { to: "6281234567890", text: { body: "stay" } })).json()) as { id: string }).id;
    await gw.db.updateTable("messages").set({ created_at: new Date(Date.now() - 10 * 86_400_000) }).where("session_id", "=", s).execute();
    expect(await store.prune(new Date(Date.now() - 86_400_000))).toBeGreaterThanOrEqual(3);
    const left = await gw.db.selectFrom("messages").select("id").where("session_id", "=", s).execute();
    expect(left.map((r) => r.id)).toEqual([queued]);
  });
});

describe("media URL fetching", () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === "/big") {
        res.writeHead(200, { "content-type": "application/octet-stream" });
        res.end(Buffer.alloc(5000));
      } else if (req.url === "/redirect") {
        res.writeHead(302, { location: "/ok" }).end();
      } else if (req.url === "/slow") {
        setTimeout(() => res.end("late"), 2000);
      } else {
        res.writeHead(200, { "content-type": "image/png; q=1" });
        res.end(Buffer.from("pngbytes"));
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => server?.close());
  const open = { maxBytes: 1024, timeoutMs: 500, allowHttp: true, allowPrivate: true };

  it("refuses private, loopback and link-local addresses and non-https unless allowed", async () => {
    for (const ip of ["127.0.0.1", "10.0.0.1", "192.168.1.1", "172.20.0.1", "169.254.169.254", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "0.0.0.0"]) {
      expect(isPrivateAddress(ip), ip).toBe(true);
    }
    expect(isPrivateAddress("93.184.216.34")).toBe(false);
    await expect(fetchMedia(`${base}/ok`, { ...open, allowPrivate: false })).rejects.toThrow(/private/);
    await expect(fetchMedia(`${base}/ok`, { ...open, allowHttp: false })).rejects.toThrow(/https/);
    await expect(fetchMedia("https://169.254.169.254/latest/meta-data", { ...open, allowPrivate: false })).rejects.toThrow(/private/);
  });

  it("fetches within the cap, follows a redirect, and fails (never hangs) over the cap or the time limit", async () => {
    const ok = await fetchMedia(`${base}/redirect`, open);
    expect(ok.data.toString()).toBe("pngbytes");
    expect(ok.contentType).toBe("image/png");
    await expect(fetchMedia(`${base}/big`, open)).rejects.toThrow(/limit/);
    await expect(fetchMedia(`${base}/slow`, open)).rejects.toThrow(/within 500 ms/);
    expect(createHash("sha256").update(ok.data).digest("hex")).toHaveLength(64);
  });
});
