import { type Kysely, type RawBuilder, sql, type Transaction } from "kysely";
import type { Database } from "../db/schema.js";
import { LeaseLostError } from "./lease-lost-error.js";
import { liveGatewayIds } from "./live-gateways.js";

/** A lease this gateway holds: the incarnation that took it and the epoch it got. */
export interface Lease {
  holder: string;
  epoch: string;
}

/**
 * The guard of one holder's writes. Called first in a write transaction, it
 * throws {@link LeaseLostError} once the lease is no longer current. `rows`
 * is the same check for a write done in one statement: a query that yields
 * one row while the lease is current, share-locking the lease row until the
 * statement's transaction ends (a take-over waits for it), and none after.
 */
export interface LeaseFence {
  (tx: Transaction<Database>): Promise<void>;
  readonly rows: RawBuilder<unknown>;
}

/** The gateway that holds a session now. */
export interface LeaseHolder {
  /** Incarnation id. */
  id: string;
  /** `GATEWAY_ID`. */
  name: string;
  address: string | null;
}

/** Which gateway holds each session's socket. */
export interface SessionLeases {
  /**
   * Takes the lease of every candidate that no live gateway holds, in the
   * name of incarnation `holder`, each with a new epoch. Returns the ones taken.
   */
  acquire(holder: string, sessionIds: readonly string[]): Promise<Map<string, Lease>>;
  /** Gives a lease up (only if it is still exactly `lease`). */
  release(sessionId: string, lease: Lease): Promise<void>;
  /** Checks, inside a write transaction, that `lease` is still current; throws {@link LeaseLostError} otherwise. */
  fence(sessionId: string, lease: Lease): LeaseFence;
  /** Sessions that should run and that no live gateway holds, and how many should run in all. */
  unheld(): Promise<{ ids: string[]; runnable: number }>;
  /** The live gateway holding `sessionId`, if any. */
  holderOf(sessionId: string): Promise<LeaseHolder | undefined>;
}

/**
 * Leases in `session_leases`, valid while their holder is live (see
 * `live-gateways.ts`). Taking one over increments the epoch; a fenced write
 * share-locks the lease row and checks holder and epoch, so a take-over and
 * an old holder's write are serialized and the old write is refused.
 */
export function postgresSessionLeases(db: Kysely<Database>): SessionLeases {
  const takeOver = (holder: string, ids: readonly string[]) =>
    sql<{ session_id: string; epoch: string }>`
      insert into session_leases (session_id, holder, epoch)
      select s.id, ${holder}, 1 from sessions s where s.id = any(${ids as string[]}::text[])
      on conflict (session_id) do update
        set holder = excluded.holder, epoch = session_leases.epoch + 1, acquired_at = now()
        where session_leases.holder is null or session_leases.holder not in ${sql.raw(liveGatewayIds)}
      returning session_id, epoch::text as epoch`.execute(db);
  return {
    async acquire(holder, ids) {
      const taken = new Map<string, Lease>();
      if (ids.length === 0) return taken;
      let rows: { session_id: string; epoch: string }[];
      try {
        rows = (await takeOver(holder, ids)).rows;
      } catch {
        // A session deleted meanwhile fails the whole batch (foreign key): one by one.
        rows = [];
        for (const id of ids) rows.push(...(await takeOver(holder, [id]).then((r) => r.rows, () => [])));
      }
      for (const r of rows) taken.set(r.session_id, { holder, epoch: String(r.epoch) });
      return taken;
    },
    async release(sessionId, lease) {
      await db
        .updateTable("session_leases")
        .set({ holder: null })
        .where("session_id", "=", sessionId)
        .where("holder", "=", lease.holder)
        .where("epoch", "=", lease.epoch)
        .execute();
    },
    fence(sessionId, lease) {
      const check = async (tx: Transaction<Database>) => {
        const row = await tx
          .selectFrom("session_leases")
          .select("epoch")
          .where("session_id", "=", sessionId)
          .where("holder", "=", lease.holder)
          .where("epoch", "=", lease.epoch)
          .forShare()
          .executeTakeFirst();
        if (!row) throw new LeaseLostError(sessionId);
      };
      const rows = sql`select 1 from session_leases where session_id = ${sessionId} and holder = ${lease.holder} and epoch = ${lease.epoch} for share`;
      return Object.assign(check, { rows });
    },
    async unheld() {
      const [free, count] = await Promise.all([
        sql<{ id: string }>`
          select s.id from sessions s left join session_leases l on l.session_id = s.id
          where s.desired_state = 'running' and (l.holder is null or l.holder not in ${sql.raw(liveGatewayIds)})
          order by s.id limit 100000`.execute(db),
        db.selectFrom("sessions").select((eb) => eb.fn.countAll<string>().as("n")).where("desired_state", "=", "running").executeTakeFirst(),
      ]);
      return { ids: free.rows.map((r) => r.id), runnable: Number(count?.n ?? 0) };
    },
    async holderOf(sessionId) {
      const { rows } = await sql<LeaseHolder>`
        select g.id, g.name, g.address from session_leases l join gateways g on g.id = l.holder
        where l.session_id = ${sessionId} and g.id in ${sql.raw(liveGatewayIds)}`.execute(db);
      return rows[0];
    },
  };
}

/**
 * Leases of the embedded database: one gateway, so every lease is granted
 * and no write needs fencing.
 */
export function localSessionLeases(db: Kysely<Database>): SessionLeases {
  return {
    acquire: async (holder, ids) => new Map(ids.map((id) => [id, { holder, epoch: "0" }])),
    release: async () => {},
    fence: () => unfenced,
    async unheld() {
      const rows = await db.selectFrom("sessions").select("id").where("desired_state", "=", "running").orderBy("id").execute();
      return { ids: rows.map((r) => r.id), runnable: rows.length };
    },
    holderOf: async () => undefined,
  };
}

/** The fence of a write no lease guards (the embedded database, tests): it always passes. */
export const unfenced: LeaseFence = Object.assign(async () => {}, { rows: sql`select 1` });
