import type { Kysely, Transaction } from "kysely";
import { retryTransient } from "../db/database-unavailable.js";
import type { Database, SessionRow, SessionUpdate } from "../db/schema.js";
import type { EventLog } from "../events/event-log.js";
import type { EventType, NewEvent } from "../events/event-types.js";

/** A status a session can be in. */
export type SessionStatusWord = "stopped" | "starting" | "scan_qr_code" | "working" | "failed";

/** One change the engine reports: row fields, a new status, and events. */
export interface EngineChange {
  status?: SessionStatusWord;
  /** Reason for the status (cleared when a status is set without one). */
  reason?: string | null;
  patch?: SessionUpdate;
  events?: { type: EventType; data: Record<string, unknown> }[];
}

/** Where the engine writes what happens to a session. */
export interface EngineStore {
  /**
   * Applies `change` to the session row and appends its events (plus a
   * `session.status` event when the status changes) in one transaction.
   * Returns the updated row, or undefined when the session no longer exists.
   */
  apply(sessionId: string, change: EngineChange, fence?: Fence): Promise<SessionRow | undefined>;
  get(sessionId: string): Promise<SessionRow | undefined>;
  /** Which of `sessionIds` should still run (desired state `running`, not deleted). */
  runnableAmong(sessionIds: readonly string[]): Promise<Set<string>>;
}

/** Runs first in a write transaction and throws to refuse the write (lease fencing). */
export type Fence = (tx: Transaction<Database>) => Promise<void>;

/**
 * The store as one lease holder sees it: every `apply` is fenced by its
 * lease, and retried through transient database errors (what the engine
 * learns from WhatsApp must not be dropped because the pool was busy).
 */
export function fencedEngineStore(store: EngineStore, fence: Fence): EngineStore {
  return { ...store, apply: (sessionId, change) => retryTransient(() => store.apply(sessionId, change, fence)) };
}

/** An {@link EngineStore} on Kysely and the event log. */
export function createEngineStore(db: Kysely<Database>, log: EventLog): EngineStore {
  return {
    apply(sessionId, change, fence) {
      return log.transact(async (tx) => {
        await fence?.(tx);
        // NO KEY UPDATE: serializes the session's writes without blocking rows that reference it (a message being
        // queued takes KEY SHARE on the session, then the event-log lock; FOR UPDATE here made that a deadlock).
        const before = await tx.selectFrom("sessions").selectAll().where("id", "=", sessionId).forNoKeyUpdate().executeTakeFirst();
        if (!before) return { result: undefined, events: [] };
        const update: SessionUpdate = { ...change.patch, updated_at: new Date() };
        if (change.status !== undefined) {
          update.status = change.status;
          update.status_reason = change.reason ?? null;
        } else if (change.reason !== undefined) {
          update.status_reason = change.reason;
        }
        const row = await tx.updateTable("sessions").set(update).where("id", "=", sessionId).returningAll().executeTakeFirstOrThrow();
        const events: NewEvent[] = (change.events ?? []).map((e) => ({ organizationId: row.organization_id, sessionId, type: e.type, data: e.data }));
        if (change.status !== undefined && change.status !== before.status) {
          events.push({
            organizationId: row.organization_id,
            sessionId,
            type: "session.status",
            data: { status: change.status, previous: before.status, reason: row.status_reason },
          });
        }
        return { result: row, events };
      });
    },
    get(sessionId) {
      return db.selectFrom("sessions").selectAll().where("id", "=", sessionId).executeTakeFirst();
    },
    async runnableAmong(sessionIds) {
      if (sessionIds.length === 0) return new Set();
      const rows = await db.selectFrom("sessions").select("id").where("id", "in", [...sessionIds]).where("desired_state", "=", "running").execute();
      return new Set(rows.map((r) => r.id));
    },
  };
}
