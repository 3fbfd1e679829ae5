import { type Kysely, type OperationNodeSource, sql, type Transaction } from "kysely";
import type { Database } from "../db/schema.js";
import type { NewEvent } from "./event-types.js";
import { type StoredEvent, toStoredEvent } from "./stored-event.js";

/** PostgreSQL channel on which appenders announce new events (payload: the highest new id). */
export const eventsChannel = "wagateway_events";

/** Advisory lock key that orders appends: "wagw" in ASCII. */
const appendLockKey = 0x77616777;

/** A read of the log. */
export interface EventQuery {
  /** Only ids greater than this. */
  after: bigint;
  /** Only ids up to and including this. */
  upTo?: bigint | undefined;
  organizationId?: string | undefined;
  sessionIds?: readonly string[] | undefined;
  types?: readonly string[] | undefined;
  /** Only events that occurred at or after this time. */
  since?: Date | undefined;
  limit: number;
}

/** The append-only event log in the `events` table. */
export interface EventLog {
  /**
   * Runs `fn` in a transaction and appends the events it returns in the same
   * transaction, so a state change and its events commit together or not at
   * all. Returns `fn`'s result after commit and wakes local subscribers.
   */
  transact<T>(fn: (tx: Transaction<Database>) => Promise<{ result: T; events: NewEvent[] }>): Promise<T>;
  /**
   * One statement, without a transaction: `change` (a data-changing query
   * with `returning`) and, when it returned any row, `events` after it. The
   * change and its events commit together or not at all, in one round trip.
   * Returns the rows `change` returned, and wakes local subscribers.
   */
  changeWithEvents<R>(change: OperationNodeSource, events: NewEvent[]): Promise<R[]>;
  /** Events matching `q`, in id order. */
  read(q: EventQuery): Promise<StoredEvent[]>;
  /** The highest id in the log (0 when empty). */
  latestId(): Promise<bigint>;
  /** The highest id removed by retention (0 when nothing was pruned). */
  prunedThrough(): Promise<bigint>;
  /** Deletes events older than `before` or beyond the newest `keep`; returns how many. */
  prune(before: Date, keep: number): Promise<number>;
  /** Calls `cb` after every local commit that appended events. */
  onAppended(cb: () => void): void;
}

/**
 * Appends `events` in order, in one statement of the caller's transaction.
 * Appends are serialized from the advisory lock to commit, so ids become
 * visible in increasing order (no reader can see N+1 while N is still
 * uncommitted). The lock is taken by the statement itself, right before its
 * rows draw their ids (they are joined to it), after whatever the
 * transaction changed before: it is held for one statement and the commit.
 * With `notify`, the highest new id is announced in the same round trip.
 */
function appendStatement(events: readonly NewEvent[], notify: boolean) {
  const locked = sql`locked as (select pg_advisory_xact_lock(${appendLockKey}))`;
  const rows = insertEvents(events);
  return notify
    ? sql`with ${locked}, ins as (${rows}) select pg_notify(${eventsChannel}, max(ins.id)::text) as n from ins`
    : sql`with ${locked} ${rows}`;
}

/** The INSERT of `events` (in order), joined to the CTE `locked` that takes the append lock. */
function insertEvents(events: readonly NewEvent[]) {
  return sql`
    insert into events (organization_id, session_id, type, data)
    select e.organization_id, e.session_id, e.type, e.data
    from unnest(${events.map((e) => e.organizationId)}::text[], ${events.map((e) => e.sessionId)}::text[], ${events.map((e) => e.type)}::text[], ${events.map((e) => JSON.stringify(e.data))}::jsonb[])
      with ordinality as e (organization_id, session_id, type, data, n)
    cross join locked
    order by e.n
    returning id`;
}

/** Column of {@link EventLog.changeWithEvents}' statement that carries the notification (removed from the rows). */
const notifiedColumn = "wagw_events_notified";

/** A {@link EventLog} on Kysely; `notify` sends `pg_notify` for other processes (PostgreSQL only). */
export function createEventLog(db: Kysely<Database>, notify: boolean): EventLog {
  const listeners: (() => void)[] = [];
  return {
    async transact(fn) {
      let appended = false;
      const result = await db.transaction().execute(async (tx) => {
        const { result, events } = await fn(tx);
        if (events.length > 0) {
          await appendStatement(events, notify).execute(tx);
          appended = true;
        }
        return result;
      });
      if (appended) for (const cb of listeners) cb();
      return result;
    },

    async changeWithEvents<R>(change: OperationNodeSource, events: NewEvent[]): Promise<R[]> {
      if (events.length === 0) return (await sql<R>`${change}`.execute(db)).rows;
      // The lock (and with it the events) only when the change returned a row; after the change, as in `transact`.
      const locked = sql`locked as (select pg_advisory_xact_lock(${appendLockKey}) from (select from changed limit 1) c)`;
      const { rows } = notify
        ? await sql<R & Record<typeof notifiedColumn, unknown>>`
            with changed as (${change}), ${locked}, ins as (${insertEvents(events)})
            select changed.*, (select pg_notify(${eventsChannel}, max(ins.id)::text) from ins having count(*) > 0) as ${sql.ref(notifiedColumn)}
            from changed`.execute(db)
        : await sql<R & Record<typeof notifiedColumn, unknown>>`
            with changed as (${change}), ${locked}, ins as (${insertEvents(events)})
            select changed.* from changed`.execute(db);
      for (const r of rows) delete (r as Record<string, unknown>)[notifiedColumn];
      if (rows.length > 0) for (const cb of listeners) cb();
      return rows;
    },

    async read(q) {
      let query = db.selectFrom("events").selectAll().where("id", ">", q.after.toString() as never);
      if (q.upTo !== undefined) query = query.where("id", "<=", q.upTo.toString() as never);
      if (q.organizationId !== undefined) query = query.where("organization_id", "=", q.organizationId);
      if (q.sessionIds && q.sessionIds.length > 0) query = query.where("session_id", "in", [...q.sessionIds]);
      if (q.types && q.types.length > 0) query = query.where("type", "in", [...q.types]);
      if (q.since !== undefined) query = query.where("occurred_at", ">=", q.since as never);
      const rows = await query.orderBy("id").limit(q.limit).execute();
      return rows.map(toStoredEvent);
    },

    async latestId() {
      const row = await db.selectFrom("events").select((eb) => eb.fn.max("id").as("max")).executeTakeFirst();
      return row?.max == null ? 0n : BigInt(row.max);
    },

    async prunedThrough() {
      const row = await db.selectFrom("event_log_state").select("pruned_through").executeTakeFirst();
      return BigInt(row?.pruned_through ?? 0);
    },

    async prune(before, keep) {
      return db.transaction().execute(async (tx) => {
        const cutoff = await tx.selectFrom("events").select("id").orderBy("id", "desc").offset(keep).limit(1).executeTakeFirst();
        let q = tx.deleteFrom("events").where("occurred_at", "<", before as never);
        if (cutoff) q = tx.deleteFrom("events").where((eb) => eb.or([eb("occurred_at", "<", before as never), eb("id", "<=", String(cutoff.id) as never)]));
        const deleted = await q.returning("id").execute();
        if (deleted.length === 0) return 0;
        const max = deleted.reduce((m, r) => (BigInt(r.id) > m ? BigInt(r.id) : m), 0n);
        await tx
          .updateTable("event_log_state")
          .set({ pruned_through: sql`greatest(pruned_through, ${max.toString()}::bigint)` as never })
          .execute();
        return deleted.length;
      });
    },

    onAppended(cb) {
      listeners.push(cb);
    },
  };
}
