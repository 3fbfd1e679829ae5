import pg from "pg";
import type { Logger } from "../logger.js";

/** Advisory-lock namespace of session ownership: "wagw" in ASCII. */
const lockSpace = 0x77616777;

/**
 * Which sessions this process may run. With PostgreSQL: session-level
 * advisory locks on one dedicated connection, so a session's socket runs in
 * at most one gateway process, and a process that dies (or loses its
 * connection) releases all of its sessions at once for the others to take
 * over. With PGlite (one process): always granted.
 */
export interface SessionLocks {
  /** Locks every candidate it can, in one round trip; returns the ones now held. */
  acquire(sessionIds: readonly string[]): Promise<string[]>;
  release(sessionId: string): Promise<void>;
  /** Called when the lock connection is lost: every lock is gone, every session must stop. */
  onLost(cb: () => void): void;
  close(): Promise<void>;
}

/** Locks that always succeed (embedded database: a single gateway). */
export function localSessionLocks(): SessionLocks {
  return {
    acquire: async (ids) => [...ids],
    release: async () => {},
    onLost: () => {},
    close: async () => {},
  };
}

/** Advisory locks on a dedicated PostgreSQL connection (reconnects after a loss). */
export function postgresSessionLocks(databaseUrl: string, log: Logger): SessionLocks {
  let client: pg.Client | undefined;
  let connecting: Promise<pg.Client> | undefined;
  let closed = false;
  const lost: (() => void)[] = [];
  const connect = () => {
    connecting ??= (async () => {
      const c = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000, keepAlive: true });
      const onGone = (err?: Error) => {
        if (client !== c) return;
        client = undefined;
        connecting = undefined;
        if (!closed) {
          log.error("session lock connection lost: stopping every session of this gateway", { err });
          for (const cb of lost) cb();
        }
      };
      c.on("error", onGone);
      c.on("end", () => onGone());
      try {
        await c.connect();
      } catch (err) {
        connecting = undefined;
        throw err;
      }
      client = c;
      return c;
    })();
    return connecting;
  };
  return {
    async acquire(ids) {
      if (ids.length === 0) return [];
      const c = client ?? (await connect());
      const res = await c.query<{ id: string }>(
        `with c as materialized (select unnest($2::text[]) as id)
         select id from c where pg_try_advisory_lock($1, hashtext(id))`,
        [lockSpace, ids],
      );
      return res.rows.map((r) => r.id);
    },
    async release(id) {
      await client?.query("select pg_advisory_unlock($1, hashtext($2))", [lockSpace, id]).catch(() => {});
    },
    onLost(cb) {
      lost.push(cb);
    },
    async close() {
      closed = true;
      await client?.end().catch(() => {});
      client = undefined;
    },
  };
}
