import type { proto, WAMessage, WAMessageKey, WASocket } from "@whiskeysockets/baileys";
import { baileys } from "../whatsapp/baileys.js";
import { isLeaseLost } from "../cluster/lease-lost-error.js";
import { retryTransient } from "../db/database-unavailable.js";
import type { Config } from "../config.js";
import type { MessageRow, NewMessageRow, SessionRow } from "../db/schema.js";
import type { EngineStore } from "../whatsapp/engine-store.js";
import type { Logger } from "../logger.js";
import { ulid } from "../util/ulid.js";
import { bareJid, contactOfJid } from "./addressing.js";
import { MediaFetchError, type MediaFetchPolicy } from "./media-fetch.js";
import { messageJson } from "./message-json.js";
import type { MessageEvent, MessageFence, MessageStore, StatusChange } from "./message-store.js";
import { normalizeContent } from "./normalize.js";
import { outboundContent, quotable, storedWaMessage } from "./outbound-content.js";
import { activeRestriction, endTimeOf, reachoutTimelockCode, restrictionPatch } from "./restrictions.js";
import { SendPacer } from "./send-pacer.js";
import type { SendingStore } from "./sending-store.js";
import { typesBefore, typingMs } from "./typing.js";

/** What one session's messaging needs. */
export interface SessionMessagingDeps {
  sessionId: string;
  /** The session's organization (read once). */
  organizationId: () => Promise<string>;
  store: MessageStore;
  /** The session lease: every write of this holder runs behind it. */
  fence: MessageFence;
  media: MediaFetchPolicy;
  /** The session's log (its id bound). */
  log: Logger;
  /** A fenced write was refused: another gateway holds the session now. */
  onLeaseLost: () => void;
  /** Pacing, restrictions and expiry queries. */
  sending: SendingStore;
  /** The session row as the engine writes it (fenced): restrictions are recorded there. */
  engine: EngineStore;
  settings: Config["sending"];
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
  /** WhatsApp ids this outbox wrote lately: Baileys echoes each as our own new message, which is not stored again. */
  private readonly written = new Set<string>();
  /** Baileys events are handled one after another, in arrival order. */
  private inbound: Promise<void> = Promise.resolve();
  private readonly log: Logger;
  private readonly pacer: SendPacer;

  constructor(private readonly deps: SessionMessagingDeps) {
    this.log = deps.log;
    this.pacer = new SendPacer({ sessionId: deps.sessionId, settings: deps.settings, store: deps.sending, fence: deps.fence, session: () => deps.engine.get(deps.sessionId), pending: () => deps.store.pending(deps.sessionId, 50) });
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
    const was = this.working;
    this.working = working && !this.stopped;
    // A (re)connect or take-over: the budget is read again from what was sent, and the rate ramps up.
    if (this.working && !was) this.pacer.restart();
    if (!this.working) this.pacer.wakeUp();
    if (this.working) this.kick();
  }

  /** Stops for good (the runtime closes). */
  stop(): void {
    this.stopped = true;
    this.working = false;
    this.sock = undefined;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.pacer.wakeUp();
  }

  /** New messages may be queued: send them when working. */
  kick(): void {
    if (!this.working) return;
    // A waiting message looks at the session's rates again (UpdateSession applies to what is queued).
    this.pacer.wakeUp();
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
    if (n > 0) this.log.info({ count: n }, "queued messages failed: logged out");
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
    } else this.log.error({ err }, "message handling failed");
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
   * Sends the outbox in order, each message when its turn comes (pacing,
   * then typing). The messages that may go at once are marked `sending`
   * in one transaction before any of them is written to the socket, and the
   * messages written are marked `sent` a few at a time after their writes,
   * while the next ones are written (a crash in between leaves them
   * `sending`: the next holder writes them again with the same WhatsApp ids).
   */
  private async drain(): Promise<void> {
    while (this.working) {
      this.again = false;
      const rows = await this.deps.store.pending(this.deps.sessionId, 50);
      if (rows.length === 0) return;
      const sent: { id: string; waMessage: string | null; at: Date }[] = [];
      // Marks of `sent` run one after another behind the writes, without holding up the next write; every
      // exit (and the next read of the outbox, which must not see them `sending`) waits for them.
      let marking: Promise<void> = Promise.resolve();
      let markFailed: { err: unknown } | undefined;
      const mark = () => {
        const done = sent.splice(0);
        if (done.length === 0) return;
        marking = marking.then(async () => {
          if (markFailed) return;
          await this.write(() => this.deps.store.markSent(this.deps.sessionId, done, this.deps.fence)).catch((err: unknown) => {
            markFailed = { err };
          });
        });
      };
      const flush = async () => {
        mark();
        await marking;
        if (markFailed) throw markFailed.err;
      };
      try {
        let i = 0;
        while (i < rows.length) {
          const row = rows[i]!;
          if (!this.working) break;
          if (await this.refusedBeforeTurn(row)) {
            i++;
            continue;
          }
          const typing = (sess: SessionRow) => (sess.presence_typing && typesBefore(row) ? typingMs(row, this.deps.settings) : 0);
          const turn = await this.pacer.waitTurn(row, typing, () => this.working);
          if (!turn || !this.working) {
            await flush();
            return;
          }
          if (await this.refusedBeforeTurn(row, turn.session)) {
            i++;
            continue;
          }
          if (!(await this.type(row, typing(turn.session), turn.at))) {
            await flush();
            return;
          }
          // Those right behind it that may go now too (no typing, budget left) go in the same batch.
          const group = [row];
          const more = this.pacer.allowedNow(turn.session, rows.length - i - 1);
          for (let k = i + 1; k < rows.length && group.length <= more; k++) {
            const r = rows[k]!;
            if (typing(turn.session) > 0 || (turn.session.presence_typing && typesBefore(r)) || this.expired(r) || activeRestriction(turn.session)) break;
            group.push(r);
          }
          i += group.length;
          const queued = group.filter((r) => r.status === "queued");
          const marked = await this.write(() => this.deps.store.transitionMany(this.deps.sessionId, queued.map((r) => r.id), { to: "sending", from: ["queued"] }, this.deps.fence));
          const markedIds = new Map(marked.map((r) => [r.id, r]));
          for (const r of group) this.pacer.forget(r.id);
          const batch = group.filter((r) => r.status === "sending" || markedIds.has(r.id)).map((r) => markedIds.get(r.id) ?? r);
          let stop = false;
          for (const r of batch) {
            if (markFailed) throw markFailed.err;
            const outcome = this.working ? await this.sendOne(r) : "stop";
            if (outcome === "stop") {
              stop = true;
              break;
            }
            if (outcome !== "failed") {
              this.pacer.record(outcome.at.getTime());
              sent.push(outcome);
            }
            if (sent.length >= 10) mark();
          }
          if (stop) {
            await flush();
            return;
          }
        }
      } finally {
        // Also when something above threw: the marks already started finish before anything reads the outbox again.
        await marking;
      }
      await flush();
      if (!this.working) return;
    }
  }

  private expired(row: MessageRow): boolean {
    return row.expires_at !== null && row.expires_at.getTime() < Date.now();
  }

  /**
   * Fails a waiting message that can no longer go out: past its expiry, or
   * (queued, to a chat that never wrote to us) while WhatsApp restricts the
   * session. True when it did.
   */
  private async refusedBeforeTurn(row: MessageRow, known?: SessionRow): Promise<boolean> {
    if (this.expired(row)) {
      this.pacer.forget(row.id);
      await this.transition(row, { to: "failed", reason: "expired", from: ["queued", "sending"], patch: { media_data: null } });
      return true;
    }
    if (row.status !== "queued") return false;
    const session = known ?? (await this.deps.engine.get(this.deps.sessionId));
    const r = session && activeRestriction(session);
    if (!r || (await this.deps.sending.chatWroteToUs(row))) return false;
    this.log.info({ messageId: row.id, reason: r.reason, until: r.until }, "message to a new chat refused: the session is restricted");
    this.pacer.forget(row.id);
    await this.transition(row, { to: "failed", reason: r.reason, from: ["queued"], patch: { media_data: null }, eventData: { restrictedUntil: r.until } });
    return true;
  }

  /** `composing` in the chat for `ms` (and at least until `until`), then `paused`; false when the socket went away. */
  private async type(row: MessageRow, ms: number, until: number): Promise<boolean> {
    if (ms <= 0) return true;
    const sock = this.sock;
    if (!sock) return false;
    try {
      await sock.sendPresenceUpdate("composing", row.chat_id);
      await new Promise((r) => setTimeout(r, Math.max(ms, until - Date.now())));
      if (!this.working || sock !== this.sock) return false;
      await sock.sendPresenceUpdate("paused", row.chat_id);
      return true;
    } catch (err) {
      this.log.info({ messageId: row.id, err: (err as Error).message }, "typing indicator failed; will retry");
      if (this.working && sock === this.sock) this.retryLater();
      return false;
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
      this.log.warn({ messageId: row.id, reason, err: (err as Error).message }, "message cannot be sent");
      await this.transition(row, { to: "failed", reason, from: ["sending"], patch: { media_data: null }, eventData: { error: (err as Error).message } });
      return "failed";
    }
    const quoted = row.reply_to ? await lookup(row.reply_to) : undefined;
    let sent: WAMessage | undefined;
    this.written.delete(row.wa_message_id);
    this.written.add(row.wa_message_id);
    if (this.written.size > 1_000) this.written.delete(this.written.values().next().value!);
    try {
      sent = await sock.sendMessage(row.chat_id, content, { messageId: row.wa_message_id, ...(quoted && { quoted: quotable(quoted) }) });
    } catch (err) {
      const code = (err as { output?: { statusCode?: number } }).output?.statusCode;
      if (!this.working || sock !== this.sock || (code !== undefined && transientCodes.has(code))) {
        // Left `sending`: the next attempt (here or on the next holder) uses the same WhatsApp id.
        this.log.info({ messageId: row.id, code }, "send interrupted; will retry with the same id");
        this.pacer.record(Date.now());
        if (this.working && sock === this.sock) this.retryLater();
        return "stop";
      }
      this.log.warn({ messageId: row.id, code, err: (err as Error).message }, "WhatsApp refused the message");
      await this.transition(row, {
        to: "failed",
        reason: code === reachoutTimelockCode ? "reachout_timelock" : "rejected",
        from: ["sending"],
        patch: { media_data: null },
        eventData: { errorCode: code ?? null, error: (err as Error).message },
      });
      return "failed";
    }
    return { id: row.id, waMessage: sent ? JSON.stringify(sent, baileys().BufferJSON.replacer) : null, at: new Date() };
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
    const timelock = Number(code) === reachoutTimelockCode;
    // Failed for good: nothing retries a refused message automatically.
    const failed = await this.transition(row, {
      to: "failed",
      reason: timelock ? "reachout_timelock" : "rejected",
      from: ["sending", "sent", "delivered"],
      eventData: { errorCode: code === null ? null : Number(code) || code, error: params[1] ?? null },
    });
    if (timelock && failed) await this.restricted(row, params);
  }

  /** WhatsApp refused a message with 463: the session records the reach-out timelock (and says so as an event). */
  private async restricted(row: MessageRow, params: readonly (string | null | undefined)[]): Promise<void> {
    const now = Date.now();
    const known = endTimeOf(params, now);
    const until = known ?? now + this.deps.settings.reachoutHoldMs;
    const reason = "reachout_timelock";
    this.log.warn({ messageId: row.id, until, untilKnown: known !== undefined }, "WhatsApp restricts this number: sends to new chats are refused");
    await this.deps.engine.apply(this.deps.sessionId, {
      patch: restrictionPatch(reason, new Date(now), new Date(until), known !== undefined, row.id),
      events: [{ type: "session.restricted", data: { reason, since: now, until, untilKnown: known !== undefined, messageId: row.id } }],
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
    // Our own send, echoed: known from the outbox, or stored.
    if (fromMe && (this.written.delete(key.id!) || (await store.byWaId(sessionId, key.id!)))) return undefined;
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
      wa_message: JSON.stringify(msg, baileys().BufferJSON.replacer),
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
