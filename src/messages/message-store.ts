import { type Kysely, sql, type Transaction } from "kysely";
import type { Database, MessageRow, NewMessageRow } from "../db/schema.js";
import { apiError } from "../errors/api-error.js";
import type { EventLog } from "../events/event-log.js";
import type { EventType, NewEvent } from "../events/event-types.js";
import { messageJson } from "./message-json.js";
import { isForward, type MessageStatusWord } from "./message-words.js";

/** Runs first in a holder's write transaction and throws to refuse it (lease fencing). */
export type MessageFence = (tx: Transaction<Database>) => Promise<void>;

/** A listing query of one session's messages. */
export interface MessageQuery {
  organizationId: string;
  sessionId: string;
  /** Only messages of this chat: its JID, or a contact known by this phone or LID. */
  chat?: { jid: string; phone: string | null; lid: string | null } | undefined;
  direction?: "in" | "out" | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  limit: number;
  /** An opaque cursor from a previous page. */
  cursor?: string | undefined;
}

/** A change of an outbound message's status, made by the session's holder. */
export interface StatusChange {
  to: MessageStatusWord;
  reason?: string | null;
  /** Only from these statuses (the change is skipped otherwise). */
  from?: readonly string[];
  /** Other columns to set. */
  patch?: { wa_message?: string | null; media_data?: Uint8Array | null; sent_at?: Date | null };
  /** Extra data on the `message.status` event (e.g. WhatsApp's error code). */
  eventData?: Record<string, unknown>;
}

/** An event about a session's messages without a row change (reactions, revokes). */
export interface MessageEvent {
  type: Extract<EventType, `message.${string}`>;
  data: Record<string, unknown>;
}

/**
 * The outbox and history of messages. API writes (enqueue) are scoped by
 * organization; every write of the session's holder (status changes,
 * receipts, received messages) runs behind its lease fence and appends its
 * events in the same transaction.
 */
export interface MessageStore {
  /**
   * Inserts an outbound message `queued` with its `message.status` event, in
   * one statement that also checks that the session still exists in the
   * row's organization and is paired: `undefined` when it is not. With an
   * idempotency key already used in the session: the original row when
   * `request_hash` matches (`created: false`), else `conflict`.
   */
  enqueue(row: NewMessageRow): Promise<{ row: MessageRow; created: boolean } | undefined>;
  get(organizationId: string, sessionId: string, id: string): Promise<MessageRow | undefined>;
  /** A message of the session by WhatsApp id. */
  byWaId(sessionId: string, waMessageId: string): Promise<MessageRow | undefined>;
  /** Newest first; `next` is the cursor of the following page, if any. */
  list(q: MessageQuery): Promise<{ rows: MessageRow[]; next: string | undefined }>;
  /** The outbox: `queued` and `sending` messages of the session, oldest first. */
  pending(sessionId: string, limit: number): Promise<MessageRow[]>;
  /** Which of `sessionIds` have messages waiting to be sent. */
  withPending(sessionIds: readonly string[]): Promise<string[]>;
  /** Applies a status change (fenced); undefined when skipped. */
  transition(sessionId: string, id: string, change: StatusChange, fence: MessageFence): Promise<MessageRow | undefined>;
  /** Applies one status change to several messages in one transaction (fenced); returns the rows changed, in `ids` order. */
  transitionMany(sessionId: string, ids: readonly string[], change: StatusChange, fence: MessageFence): Promise<MessageRow[]>;
  /** Marks messages written to the socket `sent` in one transaction (fenced; only those still `sending`). */
  markSent(sessionId: string, sent: readonly { id: string; waMessage: string | null; at: Date }[], fence: MessageFence): Promise<number>;
  /** A receipt: moves the message forward only (fenced); undefined when unknown or not forward. */
  receipt(sessionId: string, waMessageId: string, status: "delivered" | "read" | "played", at: Date, fence: MessageFence): Promise<MessageRow | undefined>;
  /**
   * Stores a message WhatsApp delivered (fenced), once per session and
   * WhatsApp id, with the events `events(row)` returns; undefined when it
   * was stored before.
   */
  storeReceived(row: NewMessageRow, events: (row: MessageRow) => MessageEvent[], fence: MessageFence): Promise<MessageRow | undefined>;
  /**
   * Stores several received messages in one transaction (fenced), each once
   * per session and WhatsApp id, with its events; returns the rows stored.
   */
  storeReceivedMany(items: readonly { row: NewMessageRow; events: (row: MessageRow) => MessageEvent[] }[], fence: MessageFence): Promise<MessageRow[]>;
  /** Appends events about the session's messages (fenced). */
  emit(organizationId: string, sessionId: string, events: MessageEvent[], fence: MessageFence): Promise<void>;
  /** Fails every queued or sending message of the session with `reason` (fenced); returns how many. */
  failPending(sessionId: string, reason: string, fence: MessageFence): Promise<number>;
  /** Deletes messages created before `before` that are not waiting to be sent; returns how many. */
  prune(before: Date, batch?: number): Promise<number>;
}

/** A NOT NULL violation of `column` (SQLSTATE 23502). */
function isNotNullViolation(err: unknown, column: string): boolean {
  const e = err as { code?: unknown; column?: unknown; message?: unknown };
  return e?.code === "23502" && (e.column === column || (e.column === undefined && String(e.message).includes(`"${column}"`)));
}

/** Encodes a listing position as an opaque cursor. */
function encodeCursor(row: MessageRow): string {
  return Buffer.from(JSON.stringify([row.created_at.getTime(), String(row.seq)])).toString("base64url");
}

/** Decodes a cursor; a malformed one is a `validation_error` on `cursor`. */
function decodeCursor(cursor: string): { at: Date; seq: string } {
  try {
    const v = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown;
    if (Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && typeof v[1] === "string" && /^\d{1,19}$/.test(v[1])) {
      return { at: new Date(v[0] as number), seq: v[1] };
    }
  } catch {
    // fall through
  }
  throw apiError("validation_error", "invalid cursor", { fields: { cursor: "is not a cursor this gateway returned" } });
}

const statusEvent = (row: Pick<MessageRow, "organization_id" | "session_id" | "id" | "status" | "status_reason">, previous: string | null, extra: Record<string, unknown> = {}): NewEvent => ({
  organizationId: row.organization_id,
  sessionId: row.session_id,
  type: "message.status",
  data: { messageId: row.id, status: row.status, previous, reason: row.status_reason, ...extra },
});

/** A {@link MessageStore} on Kysely and the event log. */
export function createMessageStore(db: Kysely<Database>, log: EventLog): MessageStore {
  const store: MessageStore = {
    async enqueue(row) {
      // The row and its event in one statement (one round trip); no row (a known idempotency key), no event.
      // The session id goes in only while the session may send: else it is null and the NOT NULL check refuses the row.
      // KEY SHARE here, before the event-log lock, so the statement takes its locks in the order every writer does
      // (session row, then log); left to the foreign-key check at the statement's end it came after the log lock.
      const sendable = sql<string>`(select s.id from sessions s where s.id = ${row.session_id} and s.organization_id = ${row.organization_id} and s.phone_number is not null for key share)`;
      let q = db.insertInto("messages").values({ ...row, session_id: sendable });
      if (row.idempotency_key) {
        q = q.onConflict((oc) => oc.columns(["session_id", "idempotency_key"]).where("idempotency_key", "is not", null).doNothing());
      }
      let inserted: MessageRow | undefined;
      try {
        [inserted] = await log.changeWithEvents<MessageRow>(q.returningAll(), [statusEvent({ ...row, status_reason: row.status_reason ?? null }, null)]);
      } catch (err) {
        if (isNotNullViolation(err, "session_id")) return undefined;
        throw err;
      }
      if (inserted) return { row: inserted, created: true };
      const existing = await db
        .selectFrom("messages")
        .selectAll()
        .where("session_id", "=", row.session_id)
        .where("idempotency_key", "=", row.idempotency_key!)
        .executeTakeFirst();
      if (!existing) throw apiError("conflict", "the idempotency key is in use by a message being removed; retry");
      if (existing.request_hash !== row.request_hash) {
        throw apiError("conflict", "this Idempotency-Key was used with another request body", { fields: { "idempotency-key": "was used with another request" } });
      }
      return { row: existing, created: false };
    },

    get(organizationId, sessionId, id) {
      return db
        .selectFrom("messages")
        .selectAll()
        .where("organization_id", "=", organizationId)
        .where("session_id", "=", sessionId)
        .where("id", "=", id)
        .executeTakeFirst();
    },

    byWaId(sessionId, waMessageId) {
      return db.selectFrom("messages").selectAll().where("session_id", "=", sessionId).where("wa_message_id", "=", waMessageId).executeTakeFirst();
    },

    async list(q) {
      let query = db.selectFrom("messages").selectAll().where("organization_id", "=", q.organizationId).where("session_id", "=", q.sessionId);
      if (q.chat) {
        const chat = q.chat;
        query = query.where((eb) =>
          eb.or([
            eb("chat_id", "=", chat.jid),
            ...(chat.phone ? [eb("contact_phone", "=", chat.phone)] : []),
            ...(chat.lid ? [eb("contact_lid", "=", chat.lid)] : []),
          ]),
        );
      }
      if (q.direction) query = query.where("direction", "=", q.direction);
      if (q.since) query = query.where("created_at", ">=", q.since);
      if (q.until) query = query.where("created_at", "<", q.until);
      if (q.cursor) {
        const c = decodeCursor(q.cursor);
        query = query.where((eb) =>
          eb.or([eb("created_at", "<", c.at), eb.and([eb("created_at", "=", c.at), eb("seq", "<", c.seq as never)])]),
        );
      }
      const rows = await query.orderBy("created_at", "desc").orderBy("seq", "desc").limit(q.limit + 1).execute();
      const more = rows.length > q.limit;
      if (more) rows.length = q.limit;
      return { rows, next: more ? encodeCursor(rows[rows.length - 1]!) : undefined };
    },

    pending(sessionId, limit) {
      return db
        .selectFrom("messages")
        .selectAll()
        .where("session_id", "=", sessionId)
        .where("status", "in", ["queued", "sending"])
        .orderBy("seq")
        .limit(limit)
        .execute();
    },

    async withPending(sessionIds) {
      if (sessionIds.length === 0) return [];
      const rows = await db
        .selectFrom("messages")
        .select("session_id")
        .distinct()
        .where("session_id", "in", [...sessionIds])
        .where("status", "in", ["queued", "sending"])
        .execute();
      return rows.map((r) => r.session_id);
    },

    transition(sessionId, id, change, fence) {
      return log.transact(async (tx) => {
        await fence(tx);
        const before = await tx.selectFrom("messages").selectAll().where("session_id", "=", sessionId).where("id", "=", id).forUpdate().executeTakeFirst();
        if (!before || (change.from && !change.from.includes(before.status))) return { result: undefined, events: [] };
        const row = await tx
          .updateTable("messages")
          .set({ ...change.patch, status: change.to, status_reason: change.reason ?? null, updated_at: new Date() })
          .where("id", "=", id)
          .returningAll()
          .executeTakeFirstOrThrow();
        const events = before.status === row.status ? [] : [statusEvent(row, before.status, change.eventData)];
        return { result: row, events };
      });
    },

    transitionMany(sessionId, ids, change, fence) {
      if (ids.length === 0) return Promise.resolve([]);
      return log.transact(async (tx) => {
        await fence(tx);
        const before = await tx.selectFrom("messages").select(["id", "status"]).where("session_id", "=", sessionId).where("id", "in", [...ids]).forUpdate().execute();
        const allowed = before.filter((b) => !change.from || change.from.includes(b.status));
        if (allowed.length === 0) return { result: [], events: [] };
        const rows = await tx
          .updateTable("messages")
          .set({ ...change.patch, status: change.to, status_reason: change.reason ?? null, updated_at: new Date() })
          .where("id", "in", allowed.map((b) => b.id))
          .returningAll()
          .execute();
        const order = new Map(ids.map((id, i) => [id, i]));
        rows.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
        const previous = new Map(allowed.map((b) => [b.id, b.status]));
        return { result: rows, events: rows.filter((r) => previous.get(r.id) !== r.status).map((r) => statusEvent(r, previous.get(r.id)!, change.eventData)) };
      });
    },

    markSent(sessionId, sent, fence) {
      if (sent.length === 0) return Promise.resolve(0);
      return log.transact(async (tx) => {
        await fence(tx);
        // One statement for the whole batch; only rows still `sending` move.
        const values = sql.join(sent.map((s) => sql`(${s.id}, ${s.at}::timestamptz, ${s.waMessage}::text)`));
        const { rows } = await sql<MessageRow>`
          update messages m
          set status = 'sent', status_reason = null, sent_at = v.at, wa_message = v.wa, media_data = null, updated_at = ${new Date()}
          from (values ${values}) as v (id, at, wa)
          where m.session_id = ${sessionId} and m.id = v.id and m.status = 'sending'
          returning m.*`.execute(tx);
        const order = new Map(sent.map((s, i) => [s.id, i]));
        rows.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
        return { result: rows.length, events: rows.map((row) => statusEvent(row, "sending")) };
      });
    },

    receipt(sessionId, waMessageId, status, at, fence) {
      return log.transact(async (tx) => {
        await fence(tx);
        const before = await tx
          .selectFrom("messages")
          .selectAll()
          .where("session_id", "=", sessionId)
          .where("wa_message_id", "=", waMessageId)
          .where("direction", "=", "out")
          .forUpdate()
          .executeTakeFirst();
        if (!before || !isForward(before.status, status)) return { result: undefined, events: [] };
        const row = await tx
          .updateTable("messages")
          .set({
            status,
            status_reason: null,
            updated_at: new Date(),
            ...(before.sent_at === null && { sent_at: at }),
            ...(before.delivered_at === null && { delivered_at: at }),
            ...(status !== "delivered" && before.read_at === null && { read_at: at }),
          })
          .where("id", "=", before.id)
          .returningAll()
          .executeTakeFirstOrThrow();
        return { result: row, events: [statusEvent(row, before.status)] };
      });
    },

    storeReceived(row, events, fence) {
      return log.transact(async (tx) => {
        await fence(tx);
        const inserted = await tx
          .insertInto("messages")
          .values(row)
          .onConflict((oc) => oc.columns(["session_id", "wa_message_id"]).doNothing())
          .returningAll()
          .executeTakeFirst();
        if (!inserted) return { result: undefined, events: [] };
        return {
          result: inserted,
          events: events(inserted).map((e) => ({ organizationId: inserted.organization_id, sessionId: inserted.session_id, type: e.type, data: e.data })),
        };
      });
    },

    storeReceivedMany(items, fence) {
      if (items.length === 0) return Promise.resolve([]);
      return log.transact(async (tx) => {
        await fence(tx);
        const inserted = await tx
          .insertInto("messages")
          .values(items.map((i) => i.row))
          .onConflict((oc) => oc.columns(["session_id", "wa_message_id"]).doNothing())
          .returningAll()
          .execute();
        const byId = new Map(inserted.map((r) => [r.id, r]));
        const stored: MessageRow[] = [];
        const events: NewEvent[] = [];
        for (const item of items) {
          const row = byId.get(item.row.id);
          if (!row) continue;
          stored.push(row);
          for (const e of item.events(row)) events.push({ organizationId: row.organization_id, sessionId: row.session_id, type: e.type, data: e.data });
        }
        return { result: stored, events };
      });
    },

    async emit(organizationId, sessionId, events, fence) {
      if (events.length === 0) return;
      await log.transact(async (tx) => {
        await fence(tx);
        return { result: undefined, events: events.map((e) => ({ organizationId, sessionId, type: e.type, data: e.data })) };
      });
    },

    failPending(sessionId, reason, fence) {
      return log.transact(async (tx) => {
        await fence(tx);
        const before = await tx
          .selectFrom("messages")
          .select(["id", "status"])
          .where("session_id", "=", sessionId)
          .where("status", "in", ["queued", "sending"])
          .orderBy("seq")
          .forUpdate()
          .execute();
        if (before.length === 0) return { result: 0, events: [] };
        const rows = await tx
          .updateTable("messages")
          .set({ status: "failed", status_reason: reason, media_data: null, updated_at: new Date() })
          .where("id", "in", before.map((b) => b.id))
          .returningAll()
          .execute();
        const previous = new Map(before.map((b) => [b.id, b.status]));
        rows.sort((a, b) => Number(BigInt(a.seq) - BigInt(b.seq)));
        return { result: rows.length, events: rows.map((r) => statusEvent(r, previous.get(r.id) ?? null)) };
      });
    },

    async prune(before, batch = 10_000) {
      const res = await sql<{ n: string | number }>`
        with gone as (
          delete from messages where id in (
            select id from messages where created_at < ${before} and status not in ('queued', 'sending') limit ${batch}
          ) returning 1
        ) select count(*) as n from gone`.execute(db);
      return Number(res.rows[0]?.n ?? 0);
    },
  };
  return store;
}

/** The message's contract JSON, as `message.received` carries it. */
export { messageJson };
