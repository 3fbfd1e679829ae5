import type { proto, WAMessage, WAMessageKey, WASocket } from "@whiskeysockets/baileys";
import { BufferJSON } from "../whatsapp/baileys.js";
import { isLeaseLost } from "../cluster/lease-lost-error.js";
import { retryTransient } from "../db/database-unavailable.js";
import type { MessageRow, NewMessageRow } from "../db/schema.js";
import type { Logger } from "../logger.js";
import { ulid } from "../util/ulid.js";
import { bareJid, contactOfJid } from "./addressing.js";
import { MediaFetchError, type MediaFetchPolicy } from "./media-fetch.js";
import { messageJson } from "./message-json.js";
import type { MessageEvent, MessageFence, MessageStore, StatusChange } from "./message-store.js";
import { normalizeContent } from "./normalize.js";
import { outboundContent, quotable, storedWaMessage } from "./outbound-content.js";

/** What one session's messaging needs. */
export interface SessionMessagingDeps {
  sessionId: string;
  /** The session's organization (read once). */
  organizationId: () => Promise<string>;
  store: MessageStore;
  /** The session lease: every write of this holder runs behind it. */
  fence: MessageFence;
  media: MediaFetchPolicy;
  log: Logger;
  /** A fenced write was refused: another gateway holds the session now. */
  onLeaseLost: () => void;
}

/** Baileys' WebMessageInfo status numbers. */
const waStatus = { error: 0, delivered: 3, read: 4, played: 5 } as const;

/** Socket errors after which the message stays `sending` and goes out again (same WhatsApp id). */
const transientCodes = new Set([408, 428, 503]);

const seconds = (t: WAMessage["messageTimestamp"]) => (t === null || t === undefined ? undefined : Number(t));

/**
 * One session's messages on the gateway that holds it: the outbox sender
 * (in order; `sending` before the socket write, `sent` after; a message
 * left `sending` goes out again with the same WhatsApp id) and the receiver
 * (every Baileys message stored once, with its events; receipts move
 * outbound messages forward). The session runtime hands it the socket and
 * says when the session is working.
 */
export class SessionMessaging {
  private sock: WASocket | undefined;
  private working = false;
  private running = false;
  private again = false;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Baileys events are handled one after another, in arrival order. */
  private inbound: Promise<void> = Promise.resolve();
  private readonly log: Logger;

  constructor(private readonly deps: SessionMessagingDeps) {
    this.log = deps.log.child({ sessionId: deps.sessionId, component: "messages" });
  }

  /** Takes a new socket: its message events are handled from now on. */
  attach(sock: WASocket): void {
    this.sock = sock;
    this.working = false;
    sock.ev.on("messages.upsert", ({ messages, type }) => {
      if (sock !== this.sock) return;
      this.enqueue(() => this.onUpsert(messages, type));
    });
    sock.ev.on("messages.update", (updates) => {
      if (sock !== this.sock) return;
      this.enqueue(() => this.onUpdates(updates));
    });
  }

  /** The session is working (socket open and logged in) or not; working starts the outbox. */
  setWorking(working: boolean): void {
    this.working = working && !this.stopped;
    if (this.working) this.kick();
  }

  /** Stops for good (the runtime closes). */
  stop(): void {
    this.stopped = true;
    this.working = false;
    this.sock = undefined;
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  /** New messages may be queued: send them when working. */
  kick(): void {
    if (!this.working) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.drain()
      .catch((err: unknown) => this.failed(err))
      .finally(() => {
        this.running = false;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** The device was logged out: every waiting message fails with `logged_out`. */
  async loggedOut(): Promise<void> {
    this.working = false;
    const n = await this.write(() => this.deps.store.failPending(this.deps.sessionId, "logged_out", this.deps.fence));
    if (n > 0) this.log.info("queued messages failed: logged out", { count: n });
  }

  /** Baileys' `getMessage`: the content of a message we stored, for retry receipts. */
  async getMessage(key: WAMessageKey): Promise<proto.IMessage | undefined> {
    if (!key.id) return undefined;
    const row = await this.deps.store.byWaId(this.deps.sessionId, key.id);
    return row ? storedWaMessage(row)?.message ?? undefined : undefined;
  }

  private enqueue(fn: () => Promise<void>): void {
    this.inbound = this.inbound.then(fn).catch((err: unknown) => this.failed(err));
  }

  private failed(err: unknown): void {
    if (isLeaseLost(err)) {
      this.stop();
      this.deps.onLeaseLost();
    } else this.log.error("message handling failed", { err });
  }

  /** A fenced write, retried through transient database errors. */
  private write<T>(fn: () => Promise<T>): Promise<T> {
    return retryTransient(fn);
  }

  private transition(row: MessageRow, change: StatusChange) {
    return this.write(() => this.deps.store.transition(this.deps.sessionId, row.id, change, this.deps.fence));
  }

  // ---- outbox -------------------------------------------------------------

  /**
   * Sends the outbox in order. Each batch is marked `sending` in one
   * transaction before any of it is written to the socket, and the messages
   * written are marked `sent` a few at a time after their writes (a crash in
   * between leaves them `sending`: the next holder writes them again with the
   * same WhatsApp ids).
   */
  private async drain(): Promise<void> {
    while (this.working) {
      this.again = false;
      const rows = await this.deps.store.pending(this.deps.sessionId, 50);
      if (rows.length === 0) return;
      const now = Date.now();
      const expired = rows.filter((r) => r.status === "queued" && r.expires_at && r.expires_at.getTime() < now);
      for (const row of expired) await this.transition(row, { to: "failed", reason: "expired", from: ["queued"], patch: { media_data: null } });
      const queued = rows.filter((r) => r.status === "queued" && !expired.includes(r));
      const marked = await this.write(() => this.deps.store.transitionMany(this.deps.sessionId, queued.map((r) => r.id), { to: "sending", from: ["queued"] }, this.deps.fence));
      const markedIds = new Map(marked.map((r) => [r.id, r]));
      const batch = rows.filter((r) => r.status === "sending" || markedIds.has(r.id)).map((r) => markedIds.get(r.id) ?? r);
      const sent: { id: string; waMessage: string | null; at: Date }[] = [];
      const flush = async () => {
        const done = sent.splice(0);
        if (done.length > 0) await this.write(() => this.deps.store.markSent(this.deps.sessionId, done, this.deps.fence));
      };
      for (const row of batch) {
        const outcome = this.working ? await this.sendOne(row) : "stop";
        if (outcome === "stop") {
          await flush();
          return;
        }
        if (outcome !== "failed") sent.push(outcome);
        if (sent.length >= 10) await flush();
      }
      await flush();
    }
  }

  /**
   * Writes one `sending` row to the socket. Returns what to mark `sent`,
   * `failed` when it was failed here, or `stop` when the socket went away
   * (the row stays `sending` for the next attempt).
   */
  private async sendOne(row: MessageRow): Promise<{ id: string; waMessage: string | null; at: Date } | "failed" | "stop"> {
    const sock = this.sock;
    if (!sock || !this.working) return "stop";
    const lookup = (id: string) => this.deps.store.get(row.organization_id, row.session_id, id);
    let content;
    try {
      content = await outboundContent(row, lookup, this.deps.media);
    } catch (err) {
      const reason = err instanceof MediaFetchError ? "media_unavailable" : "invalid_target";
      this.log.warn("message cannot be sent", { messageId: row.id, reason, err: (err as Error).message });
      await this.transition(row, { to: "failed", reason, from: ["sending"], patch: { media_data: null }, eventData: { error: (err as Error).message } });
      return "failed";
    }
    const quoted = row.reply_to ? await lookup(row.reply_to) : undefined;
    let sent: WAMessage | undefined;
    try {
      sent = await sock.sendMessage(row.chat_id, content, { messageId: row.wa_message_id, ...(quoted && { quoted: quotable(quoted) }) });
    } catch (err) {
      const code = (err as { output?: { statusCode?: number } }).output?.statusCode;
      if (!this.working || sock !== this.sock || (code !== undefined && transientCodes.has(code))) {
        // Left `sending`: the next attempt (here or on the next holder) uses the same WhatsApp id.
        this.log.info("send interrupted; will retry with the same id", { messageId: row.id, code });
        if (this.working && sock === this.sock) this.retryLater();
        return "stop";
      }
      this.log.warn("WhatsApp refused the message", { messageId: row.id, code, err: (err as Error).message });
      await this.transition(row, {
        to: "failed",
        reason: "rejected",
        from: ["sending"],
        patch: { media_data: null },
        eventData: { errorCode: code ?? null, error: (err as Error).message },
      });
      return "failed";
    }
    return { id: row.id, waMessage: sent ? JSON.stringify(sent, BufferJSON.replacer) : null, at: new Date() };
  }

  private retryLater(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, 2_000);
    this.retryTimer.unref();
  }

  // ---- receiving ----------------------------------------------------------

  private async onUpdates(updates: { key: WAMessageKey; update: Partial<WAMessage> }[]): Promise<void> {
    for (const { key, update } of updates) {
      if (!key.id || !key.fromMe) continue;
      const status = update.status;
      if (status === waStatus.error) {
        await this.rejected(key.id, update.messageStubParameters ?? []);
        continue;
      }
      if (typeof status === "number") await this.receiptOf(key.id, status, seconds(update.messageTimestamp));
    }
  }

  /** Applies a receipt status (3 delivered, 4 read, 5 played) to one of our messages; true when it moved it forward. */
  private async receiptOf(waId: string, status: number, atSeconds?: number): Promise<boolean> {
    const word = status === waStatus.delivered ? "delivered" : status === waStatus.read ? "read" : status === waStatus.played ? "played" : undefined;
    if (!word) return false;
    const at = atSeconds ? new Date(atSeconds * 1000) : new Date();
    const row = await this.write(() => this.deps.store.receipt(this.deps.sessionId, waId, word, at, this.deps.fence));
    return row !== undefined;
  }

  /** WhatsApp refused one of our messages (an error ack). */
  private async rejected(waId: string, params: readonly (string | null | undefined)[]): Promise<void> {
    const row = await this.deps.store.byWaId(this.deps.sessionId, waId);
    if (!row || row.direction !== "out") return;
    const code = params[0] ?? null;
    await this.transition(row, {
      to: "failed",
      reason: "rejected",
      from: ["sending", "sent", "delivered"],
      eventData: { errorCode: code === null ? null : Number(code) || code, error: params[1] ?? null },
    });
  }

  private async onUpsert(messages: WAMessage[], type: string): Promise<void> {
    const arrivedAt = new Date();
    const batch: { msg: WAMessage; n: NonNullable<ReturnType<typeof normalizeContent>>; arrivedAt: Date }[] = [];
    for (const msg of messages) {
      const key = msg.key;
      if (!key?.id || !key.remoteJid) continue;
      // The fast-rejection trap: an error ack inside Baileys' event buffer arrives as our own append with status 0.
      if (key.fromMe && msg.status === waStatus.error && type === "append") {
        await this.rejected(key.id, msg.messageStubParameters ?? []);
        continue;
      }
      // Same trap for receipts: a delivery/read receipt inside the buffer merges into that append as its status.
      if (key.fromMe && type === "append" && typeof msg.status === "number" && msg.status >= waStatus.delivered && (await this.receiptOf(key.id, msg.status))) continue;
      const server = key.remoteJid.split("@")[1];
      if (server !== "s.whatsapp.net" && server !== "lid" && server !== "c.us") continue; // 1:1 chats only
      const normalized = normalizeContent(msg.message);
      if (!normalized) continue;
      batch.push({ msg, n: normalized, arrivedAt });
    }
    this.received.push(...batch);
    // Handled in order on the one chain: what arrives while a write is in flight goes into the next one together.
    if (batch.length > 0) this.enqueue(() => this.flushReceived());
  }

  /** Messages received and not yet stored. */
  private received: { msg: WAMessage; n: NonNullable<ReturnType<typeof normalizeContent>>; arrivedAt: Date }[] = [];

  private async flushReceived(): Promise<void> {
    const items = this.received.splice(0);
    if (items.length === 0) return;
    const { store, fence } = this.deps;
    const prepared: { row: NewMessageRow; events: (row: MessageRow) => MessageEvent[] }[] = [];
    const batchIds = new Map<string, string>();
    for (const { msg, n, arrivedAt } of items) {
      const p = await this.prepareReceived(msg, n, batchIds, arrivedAt);
      if (p) {
        prepared.push(p);
        batchIds.set(p.row.wa_message_id, p.row.id);
      }
    }
    await this.write(() => store.storeReceivedMany(prepared, fence));
  }

  /** A received message's row and events; undefined for an echo of our own send. */
  private async prepareReceived(
    msg: WAMessage,
    n: NonNullable<ReturnType<typeof normalizeContent>>,
    batchIds: Map<string, string>,
    arrivedAt: Date,
  ): Promise<{ row: NewMessageRow; events: (row: MessageRow) => MessageEvent[] } | undefined> {
    const { store, sessionId } = this.deps;
    const key = msg.key;
    const fromMe = Boolean(key.fromMe);
    if (fromMe && (await store.byWaId(sessionId, key.id!))) return undefined; // our own send, echoed
    const organizationId = await this.deps.organizationId();
    const chat = bareJid(key.remoteJid!);
    const primary = contactOfJid(chat);
    const alt = contactOfJid(key.remoteJidAlt ?? undefined);
    const contact = { phone: primary.phone ?? alt.phone, lid: primary.lid ?? alt.lid, pushName: fromMe ? null : (msg.pushName ?? null) };
    const ts = seconds(msg.messageTimestamp);
    const createdAt = ts ? new Date(ts * 1000) : new Date();
    // Our id of a message by WhatsApp id: stored earlier, or earlier in this batch.
    const ourId = async (wa: string) => batchIds.get(wa) ?? (await store.byWaId(sessionId, wa))?.id;
    const [replyToId, targetId] = await Promise.all([
      n.quotedWaId ? ourId(n.quotedWaId) : undefined,
      n.reaction || n.revokedWaId ? ourId((n.reaction?.targetWaId ?? n.revokedWaId)!) : undefined,
    ]);
    const replyTo = replyToId ? { id: replyToId } : undefined;
    const target = targetId ? { id: targetId } : undefined;
    const content = { ...n.content };
    if (n.reaction) content.reaction = { messageId: target?.id ?? null, emoji: n.reaction.emoji };
    if (n.revokedWaId) content.revoke = { messageId: target?.id ?? null };
    const row: NewMessageRow = {
      id: ulid(createdAt.getTime()),
      organization_id: organizationId,
      session_id: sessionId,
      wa_message_id: key.id!,
      direction: fromMe ? "out" : "in",
      source: fromMe ? "phone" : "contact",
      chat_id: chat,
      contact_phone: contact.phone,
      contact_lid: contact.lid,
      contact_push_name: contact.pushName,
      type: n.type,
      content: JSON.stringify(content),
      media_data: null,
      wa_message: JSON.stringify(msg, BufferJSON.replacer),
      reply_to: replyTo?.id ?? null,
      mentions: JSON.stringify(n.mentions),
      status: fromMe ? "sent" : "received",
      status_reason: null,
      idempotency_key: null,
      request_hash: null,
      created_at: createdAt,
      sent_at: fromMe ? createdAt : null,
      delivered_at: null,
      read_at: null,
      not_before: null,
      expires_at: null,
      // When Baileys handed it over (the row is written right after, in a batch).
      updated_at: arrivedAt,
    };
    const events = (stored: MessageRow): MessageEvent[] => {
      if (n.reaction) return [{ type: "message.reaction", data: { messageId: target?.id ?? null, waMessageId: n.reaction.targetWaId, emoji: n.reaction.emoji, contact, fromMe } }];
      if (n.revokedWaId) return [{ type: "message.revoked", data: { messageId: target?.id ?? null, waMessageId: n.revokedWaId, fromMe } }];
      return [{ type: "message.received", data: messageJson(stored) }];
    };
    return { row, events };
  }
}
