import type { Kysely } from "kysely";
import type { Database, MessageRow } from "../db/schema.js";
import type { EventLog } from "../events/event-log.js";
import type { NewEvent } from "../events/event-types.js";
import type { MessageFence } from "./message-store.js";

/** The queries behind pacing, restrictions, expiry and idempotency keys. */
export interface SendingStore {
  /**
   * When the session's API sends since `since` went out (epoch ms,
   * ascending): `sent_at`, or for a message still `sending` (on the wire
   * when its holder died) the time it was taken up.
   */
  sentTimes(sessionId: string, since: Date): Promise<number[]>;
  /** Records when queued messages are expected to go (fenced; only rows still `queued`). */
  setNotBefore(sessionId: string, updates: readonly { id: string; at: Date | null }[], fence: MessageFence): Promise<void>;
  /** True when the chat of `row` ever wrote to this session (an inbound message is stored). */
  chatWroteToUs(row: Pick<MessageRow, "session_id" | "chat_id" | "contact_phone" | "contact_lid">): Promise<boolean>;
  /**
   * Fails queued messages whose expiry has passed (any session, held or
   * not) with `expired`, with their `message.status` events; returns how many.
   */
  expireDue(now: Date, batch?: number): Promise<number>;
}

/** A {@link SendingStore} on Kysely and the event log. */
export function createSendingStore(db: Kysely<Database>, log: EventLog): SendingStore {
  return {
    async sentTimes(sessionId, since) {
      const [sent, sending] = await Promise.all([
        db
          .selectFrom("messages")
          .select("sent_at")
          .where("session_id", "=", sessionId)
          .where("direction", "=", "out")
          .where("source", "=", "api")
          .where("sent_at", "is not", null)
          .where("sent_at", ">=", since)
          .execute(),
        db
          .selectFrom("messages")
          .select("updated_at")
          .where("session_id", "=", sessionId)
          .where("status", "=", "sending")
          .where("sent_at", "is", null)
          .execute(),
      ]);
      const times = [...sent.map((r) => r.sent_at!.getTime()), ...sending.map((r) => r.updated_at.getTime()).filter((t) => t >= since.getTime())];
      return times.sort((a, b) => a - b);
    },

    async setNotBefore(sessionId, updates, fence) {
      if (updates.length === 0) return;
      await log.transact(async (tx) => {
        await fence(tx);
        for (const u of updates) {
          await tx
            .updateTable("messages")
            .set({ not_before: u.at })
            .where("session_id", "=", sessionId)
            .where("id", "=", u.id)
            .where("status", "=", "queued")
            .execute();
        }
        return { result: undefined, events: [] };
      });
    },

    async chatWroteToUs(row) {
      const found = await db
        .selectFrom("messages")
        .select("id")
        .where("session_id", "=", row.session_id)
        .where("direction", "=", "in")
        .where((eb) =>
          eb.or([
            eb("chat_id", "=", row.chat_id),
            ...(row.contact_phone ? [eb("contact_phone", "=", row.contact_phone)] : []),
            ...(row.contact_lid ? [eb("contact_lid", "=", row.contact_lid)] : []),
          ]),
        )
        .limit(1)
        .executeTakeFirst();
      return found !== undefined;
    },

    async expireDue(now, batch = 1_000) {
      return log.transact(async (tx) => {
        const rows = await tx
          .updateTable("messages")
          .set({ status: "failed", status_reason: "expired", media_data: null, updated_at: now })
          .where(
            "id",
            "in",
            tx.selectFrom("messages").select("id").where("status", "=", "queued").where("expires_at", "<", now).orderBy("seq").limit(batch),
          )
          .where("status", "=", "queued")
          .returningAll()
          .execute();
        rows.sort((a, b) => Number(BigInt(a.seq) - BigInt(b.seq)));
        const events: NewEvent[] = rows.map((r) => ({
          organizationId: r.organization_id,
          sessionId: r.session_id,
          type: "message.status",
          data: { messageId: r.id, status: "failed", previous: "queued", reason: "expired" },
        }));
        return { result: rows.length, events };
      });
    },
  };
}
