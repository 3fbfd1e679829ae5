import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Event } from "../gen/wagateway/v1/event_pb.js";
import { MessageDirection, MessageSource, MessageStatus, MessageType } from "../gen/wagateway/v1/message_pb.js";
import { MessageService } from "../gen/wagateway/v1/message_service_pb.js";
import { SessionStatus } from "../gen/wagateway/v1/session_pb.js";
import { SessionService } from "../gen/wagateway/v1/session_service_pb.js";
import { backends } from "./support/backends.js";
import { tapEvents, type EventTap } from "./support/event-stream.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";
import { clientFor, transportCases } from "./support/transports.js";
import { waitForStatus, waitUntil } from "./support/wait.js";
import { quietLibsignal, type SimContact, startWaSimulator, type WaSimulator } from "./wa-sim/index.js";

const grpc = transportCases[0]!;
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
let phoneSeq = 0;
const newPhone = () => `1556${process.pid % 1000}${String(++phoneSeq).padStart(4, "0")}`;

describe.each(backends)("messages end to end on $name (real Baileys against the simulator)", (backend) => {
  let sim: WaSimulator;
  let gw: TestGateway;
  let key: string;
  let sessions: ReturnType<typeof clientFor<typeof SessionService>>;
  let messages: ReturnType<typeof clientFor<typeof MessageService>>;
  let untrust: () => void;
  let id: string;
  let phone: string;
  let alice: SimContact;
  let tap: EventTap;

  const rest = (method: string, path: string, body?: unknown) =>
    fetch(`${gw.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined && { "content-type": "application/json" }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
  const statusOf = async (message: string) => (await messages.getMessage({ session: id, message })).message!;
  const waitStatus = (message: string, status: MessageStatus) =>
    waitUntil(`message ${message} ${MessageStatus[status]}`, async () => {
      const m = await statusOf(message);
      return m.status === status ? m : undefined;
    });
  const eventsOf = (type: string, pred: (e: Event) => boolean = () => true) => tap.events.filter((e) => e.type === type && e.sessionId === id && pred(e));

  beforeAll(async () => {
    quietLibsignal();
    sim = await startWaSimulator({ qrRefs: 6 });
    untrust = await sim.media.trustGlobally();
    gw = await startTestGateway(backend, {
      WA_WEBSOCKET_URL: sim.url,
      WA_ROOT_PUBLIC_KEY: Buffer.from(sim.rootPublicKey).toString("base64"),
      WA_CONNECT_TIMEOUT_MS: "5000",
      WA_RECONNECT_BASE_MS: "50",
      WA_RECONNECT_MAX_MS: "500",
      MEDIA_ALLOW_PRIVATE: "true",
      OUTBOX_POLL_MS: "500",
    });
    key = await gw.createKey(gw.newOrgId(), ["manage", "read"]);
    sessions = clientFor(SessionService, grpc, gw.url, key);
    messages = clientFor(MessageService, grpc, gw.url, key);
    tap = tapEvents(sessions, { types: ["message.received", "message.status", "message.reaction", "message.revoked"] });
    await tap.ready;
    phone = newPhone();
    const { session } = await sessions.createSession({ start: true });
    id = session!.id;
    await waitForStatus(sessions, id, SessionStatus.SCAN_QR_CODE);
    await sim.scanQr((await sessions.getQrCode({ session: id })).qr, { phoneNumber: phone });
    await waitForStatus(sessions, id, SessionStatus.WORKING);
    alice = sim.contact(`1557${process.pid % 1000}0001`, { name: "Alice" });
  }, 180_000);
  afterAll(async () => {
    await tap?.stop();
    await gw?.close();
    untrust?.();
    await sim?.close();
  });

  it("REST text → the contact decrypts it; receipts → delivered then read on GetMessage and as message.status events", async () => {
    const res = await rest("POST", `/api/v1/sessions/${id}/messages`, { to: `+${alice.phone}`, text: { body: "Hello from REST" } });
    expect(res.status).toBe(202);
    const sent = (await res.json()) as { id: string; waMessageId: string; status: string };
    expect(sent.status).toBe("queued");
    const got = await alice.waitForMessage((m) => m.message.extendedTextMessage?.text === "Hello from REST", 15_000);
    expect(got.id).toBe(sent.waMessageId);
    await waitStatus(sent.id, MessageStatus.SENT);
    alice.sendReceipt(phone, got.id, "delivery");
    await waitStatus(sent.id, MessageStatus.DELIVERED);
    alice.sendReceipt(phone, got.id, "read");
    const read = await waitStatus(sent.id, MessageStatus.READ);
    expect(read.deliveredAt).toBeDefined();
    expect(read.readAt).toBeDefined();
    const flow = await waitUntil("status events", () => {
      const s = eventsOf("message.status", (e) => (e.data as { messageId?: string }).messageId === sent.id).map((e) => (e.data as { status: string }).status);
      return s.length >= 5 ? s : undefined;
    });
    expect(flow).toEqual(["queued", "sending", "sent", "delivered", "read"]);
  });

  it("receipts sent the moment the contact has the message move it to read", async () => {
    const sent = (await messages.sendMessage({ session: id, to: alice.phone, content: { case: "text", value: { body: "read at once" } } })).message!;
    const got = await alice.waitForMessage((m) => m.id === sent.waMessageId, 15_000);
    // No wait: when these land inside Baileys' event buffer of the send, they arrive merged into its own upsert.
    alice.sendReceipt(phone, got.id, "delivery");
    alice.sendReceipt(phone, got.id, "read");
    const read = await waitStatus(sent.id, MessageStatus.READ);
    expect(read.deliveredAt).toBeDefined();
    expect(read.readAt).toBeDefined();
  });

  it("every content kind through the generated gRPC client arrives at the contact exactly as sent", async () => {
    const image = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256));
    const videoBytes = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 13) % 256));
    const videoUrl = sim.media.publish(videoBytes, "video/mp4", "clip.mp4");
    const to = alice.phone;
    const base = (await messages.sendMessage({ session: id, to, content: { case: "text", value: { body: "base" } } })).message!;
    await alice.waitForMessage((m) => m.id === base.waMessageId, 15_000);
    await waitStatus(base.id, MessageStatus.SENT);
    const send = async (content: Parameters<typeof messages.sendMessage>[0]["content"], extra: { replyTo?: string; mentions?: string[] } = {}) => {
      const { message } = await messages.sendMessage({ session: id, to, content, ...extra });
      const m = await alice.waitForMessage((x) => x.id === message!.waMessageId, 15_000);
      return { sent: message!, got: m.message };
    };
    const img = await send({ case: "image", value: { data: image, caption: "a picture", mimetype: "image/png" } });
    expect(img.got.imageMessage).toMatchObject({ caption: "a picture", mimetype: "image/png" });
    expect(sha(sim.media.download(img.got, "image"))).toBe(sha(image));
    const vid = await send({ case: "video", value: { url: videoUrl, caption: "a clip", mimetype: "video/mp4" } });
    expect(vid.got.videoMessage).toMatchObject({ caption: "a clip", mimetype: "video/mp4" });
    expect(sha(sim.media.download(vid.got, "video"))).toBe(sha(videoBytes));
    const voice = await send({ case: "audio", value: { data: image.subarray(0, 500), voice: true } });
    expect(voice.got.audioMessage).toMatchObject({ ptt: true, mimetype: "audio/ogg; codecs=opus" });
    expect(sha(sim.media.download(voice.got, "audio"))).toBe(sha(image.subarray(0, 500)));
    const doc = await send({ case: "document", value: { data: videoBytes, filename: "report.pdf", mimetype: "application/pdf", caption: "the report" } });
    const docMsg = doc.got.documentMessage ?? doc.got.documentWithCaptionMessage?.message?.documentMessage;
    expect(docMsg).toMatchObject({ fileName: "report.pdf", mimetype: "application/pdf" });
    expect(sha(sim.media.download(doc.got, "document"))).toBe(sha(videoBytes));
    const loc = await send({ case: "location", value: { latitude: -6.2, longitude: 106.8, name: "Jakarta", address: "Indonesia" } });
    expect(loc.got.locationMessage).toMatchObject({ degreesLatitude: -6.2, degreesLongitude: 106.8, name: "Jakarta", address: "Indonesia" });
    const vcard = "BEGIN:VCARD\nVERSION:3.0\nFN:Bob\nTEL;type=CELL;waid=15550009999:+15550009999\nEND:VCARD";
    const card = await send({ case: "contact", value: { displayName: "Bob", vcard } });
    expect(card.got.contactMessage).toMatchObject({ displayName: "Bob", vcard });
    const reply = await send({ case: "text", value: { body: "a reply" } }, { replyTo: base.id, mentions: [`+${alice.phone}`] });
    expect(reply.got.extendedTextMessage).toMatchObject({ text: "a reply", contextInfo: { stanzaId: base.waMessageId, mentionedJid: [alice.jid] } });
    expect(reply.sent.replyTo).toBe(base.id);
    const react = await send({ case: "reaction", value: { messageId: base.id, emoji: "👍" } });
    expect(react.got.reactionMessage).toMatchObject({ text: "👍", key: { id: base.waMessageId, fromMe: true } });
    const revoke = await send({ case: "revoke", value: { messageId: base.id } });
    expect(revoke.got.protocolMessage).toMatchObject({ type: 0, key: { id: base.waMessageId } });
    for (const m of [img, vid, voice, doc, loc, card, reply, react, revoke]) await waitStatus(m.sent.id, MessageStatus.SENT);
    expect(sim.messagingErrors()).toEqual([]);
  });

  it("the contact sends each kind → message.received on WatchEvents and SSE, ListMessages shows it, the media route returns the bytes", async () => {
    const sse = await fetch(`${gw.url}/api/v1/events?types=message.received`, { headers: { authorization: `Bearer ${key}`, accept: "text/event-stream" } });
    const reader = sse.body!.getReader();
    let sseText = "";
    const pump = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        sseText += new TextDecoder().decode(value);
      }
    })().catch(() => {});
    const photo = Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 31) % 256));
    const text = await alice.sendText(phone, "hi gateway", { pushName: "Alice A" });
    const media = await alice.sendMedia(phone, "image", photo, { mimetype: "image/jpeg", caption: "look" });
    const loc = await alice.send(phone, { locationMessage: { degreesLatitude: 1.5, degreesLongitude: 2.5, name: "Here" } });
    const card = await alice.send(phone, { contactMessage: { displayName: "Carol", vcard: "BEGIN:VCARD\nVERSION:3.0\nFN:Carol\nEND:VCARD" } });
    const quoted = await alice.send(phone, { extendedTextMessage: { text: "replying", contextInfo: { stanzaId: text.id, participant: alice.jid, quotedMessage: { conversation: "hi gateway" } } } });
    const received = await waitUntil("five message.received", () => {
      const ids = new Set([text.id, media.id, loc.id, card.id, quoted.id]);
      const evs = eventsOf("message.received", (e) => ids.has((e.data as { waMessageId: string }).waMessageId));
      return evs.length === 5 ? evs : undefined;
    });
    const byWa = new Map(received.map((e) => [(e.data as { waMessageId: string }).waMessageId, e.data as Record<string, unknown>]));
    expect(byWa.get(text.id)).toMatchObject({
      direction: "in",
      source: "contact",
      status: "received",
      type: "text",
      content: { text: { body: "hi gateway" } },
      contact: { phone: alice.phone, pushName: "Alice A" },
    });
    expect(byWa.get(media.id)).toMatchObject({ type: "image", content: { image: { caption: "look", mimetype: "image/jpeg", size: 4000, sha256: sha(photo) } } });
    expect(byWa.get(loc.id)).toMatchObject({ type: "location", content: { location: { latitude: 1.5, longitude: 2.5, name: "Here" } } });
    expect(byWa.get(card.id)).toMatchObject({ type: "contact", content: { contact: { displayName: "Carol" } } });
    expect(byWa.get(quoted.id)).toMatchObject({ replyTo: byWa.get(text.id)!.id });
    const list = await messages.listMessages({ session: id, direction: MessageDirection.IN, chat: alice.phone });
    expect(list.messages.map((m) => m.waMessageId).slice(0, 5).sort()).toEqual([text.id, media.id, loc.id, card.id, quoted.id].sort());
    const mediaId = byWa.get(media.id)!.id as string;
    const res = await rest("GET", `/api/v1/sessions/${id}/messages/${mediaId}/media`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/jpeg");
    expect(sha(Buffer.from(await res.arrayBuffer()))).toBe(sha(photo));
    // The same bytes through the generated gRPC client (a server stream of chunks).
    const chunks: Uint8Array[] = [];
    let contentType = "";
    for await (const part of messages.getMessageMedia({ session: id, message: mediaId })) {
      if (part.body!.contentType) contentType = part.body!.contentType;
      chunks.push(part.body!.data);
    }
    expect(contentType).toBe("image/jpeg");
    expect(sha(Buffer.concat(chunks))).toBe(sha(photo));
    // SSE carried the same events.
    await waitUntil("SSE message.received", () => (sseText.includes(media.id) && sseText.includes(quoted.id) ? true : undefined));
    await reader.cancel();
    await pump;
    // A reaction and a revoke from the contact are events of their own.
    await alice.send(phone, { reactionMessage: { key: { remoteJid: `${phone}@s.whatsapp.net`, id: text.id, fromMe: false }, text: "❤️" } });
    const reaction = await waitUntil("message.reaction", () => eventsOf("message.reaction")[0]);
    expect(reaction.data).toMatchObject({ messageId: byWa.get(text.id)!.id, emoji: "❤️", contact: { phone: alice.phone } });
    await alice.send(phone, { protocolMessage: { type: 0, key: { remoteJid: `${phone}@s.whatsapp.net`, id: card.id, fromMe: true } } });
    const revoked = await waitUntil("message.revoked", () => eventsOf("message.revoked")[0]);
    expect(revoked.data).toMatchObject({ messageId: byWa.get(card.id)!.id });
  });

  it("a message the owner sends from the phone is stored as direction out, source phone", async () => {
    const sent = await sim.ownPhone(phone).send(alice.jid, { conversation: "typed on the phone" });
    const ev = await waitUntil("phone message", () => eventsOf("message.received", (e) => (e.data as { waMessageId: string }).waMessageId === sent.id)[0]);
    expect(ev.data).toMatchObject({ direction: "out", source: "phone", status: "sent", chatId: alice.jid, content: { text: { body: "typed on the phone" } } });
    const got = await messages.getMessage({ session: id, message: (ev.data as { id: string }).id });
    expect(got.message).toMatchObject({ direction: MessageDirection.OUT, source: MessageSource.PHONE });
  });

  it("WhatsApp's error ack fails the message as rejected with its code (messages.update and the buffered-upsert path)", async () => {
    alice.failSends(479, { times: 1, delayMs: 400 });
    const late = (await messages.sendMessage({ session: id, to: alice.phone, content: { case: "text", value: { body: "late reject" } } })).message!;
    const failedLate = await waitStatus(late.id, MessageStatus.FAILED);
    expect(failedLate.statusReason).toBe("rejected");
    alice.failSends(479, { times: 1 });
    const fast = (await messages.sendMessage({ session: id, to: alice.phone, content: { case: "text", value: { body: "fast reject" } } })).message!;
    const failedFast = await waitStatus(fast.id, MessageStatus.FAILED);
    expect(failedFast.statusReason).toBe("rejected");
    const ev = eventsOf("message.status", (e) => (e.data as { messageId: string; status: string }).messageId === fast.id && (e.data as { status: string }).status === "failed")[0];
    expect(ev?.data).toMatchObject({ reason: "rejected", errorCode: 479 });
  });

  it("a media URL that cannot be fetched fails the message media_unavailable; the process goes on", async () => {
    const url = `${sim.media.origin}/no-such-file`;
    const m = (await messages.sendMessage({ session: id, to: alice.phone, content: { case: "image", value: { url } } })).message!;
    const failed = await waitStatus(m.id, MessageStatus.FAILED);
    expect(failed.statusReason).toBe("media_unavailable");
    const after = (await messages.sendMessage({ session: id, to: alice.phone, content: { case: "text", value: { body: "still alive" } } })).message!;
    await alice.waitForMessage((x) => x.id === after.waMessageId, 15_000);
  });

  it("CheckNumbers: the contact is on WhatsApp with its JID and LID, an unknown number is not; answers are cached", async () => {
    const unknown = "15559990000";
    const { results } = await messages.checkNumbers({ session: id, phones: [`+${alice.phone}`, unknown] });
    expect(results).toEqual([
      expect.objectContaining({ phone: alice.phone, exists: true, jid: alice.jid, lid: alice.lid }),
      expect.objectContaining({ phone: unknown, exists: false }),
    ]);
    const cached = await gw.db.selectFrom("number_checks").select(["phone", "exists"]).where("phone", "in", [alice.phone, unknown]).execute();
    expect(cached).toHaveLength(2);
  });

  it("a message sent while the session is stopped is queued and arrives once it is started; one received meanwhile arrives offline", async () => {
    await sessions.stopSession({ session: id });
    const m = (await messages.sendMessage({ session: id, to: alice.phone, content: { case: "text", value: { body: "sent while stopped" } } })).message!;
    const offline = await alice.sendText(phone, "while you were away");
    expect(offline.queuedDevices.length).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await statusOf(m.id)).status).toBe(MessageStatus.QUEUED);
    await sessions.startSession({ session: id });
    await waitForStatus(sessions, id, SessionStatus.WORKING);
    const got = await alice.waitForMessage((x) => x.id === m.waMessageId, 20_000);
    expect(got.message.extendedTextMessage?.text).toBe("sent while stopped");
    await waitStatus(m.id, MessageStatus.SENT);
    const ev = await waitUntil("offline message.received", () => eventsOf("message.received", (e) => (e.data as { waMessageId: string }).waMessageId === offline.id)[0]);
    expect(ev.data).toMatchObject({ direction: "in", content: { text: { body: "while you were away" } } });
  });

  it("autoRead keeps working: with it on, a received message is marked read", async () => {
    await sessions.updateSession({ session: id, autoRead: true });
    const sent = await alice.sendText(phone, "please read me");
    await waitUntil("message.received", () => eventsOf("message.received", (e) => (e.data as { waMessageId: string }).waMessageId === sent.id)[0]);
    const receipt = await alice.waitForReceipt((r) => r.ids.includes(sent.id) && (r.type === "read" || r.type === "read-self"), 15_000);
    expect(receipt.ids).toContain(sent.id);
    await sessions.updateSession({ session: id, autoRead: false });
  });

  it("logout fails the queue with logged_out", async () => {
    await sessions.stopSession({ session: id });
    const a = (await messages.sendMessage({ session: id, to: alice.phone, content: { case: "text", value: { body: "never" } } })).message!;
    await sessions.logoutSession({ session: id });
    const failed = await waitStatus(a.id, MessageStatus.FAILED);
    expect(failed.statusReason).toBe("logged_out");
    expect(failed.type).toBe(MessageType.TEXT);
  });
});
