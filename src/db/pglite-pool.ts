import type { PGlite } from "@electric-sql/pglite";
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from "kysely";

/** How long a chain of PGlite statements may run before it lets the event loop turn. */
const starveMs = 2;

/**
 * Presents one PGlite instance as the `pg`-style pool Kysely's PostgresDialect
 * expects, so both backends share one dialect, one query compiler and one set
 * of migrations. PGlite is a single connection: `connect()` hands it out to
 * one borrower at a time (a FIFO mutex), so a transaction never interleaves
 * with another caller's statements; a borrow waits one turn of the event
 * loop when it has not turned for a while, so long chains of statements
 * never starve sockets and timers. `onEnd` runs after the database closed.
 */
export function createPglitePool(db: PGlite, onEnd: () => void = () => {}): PostgresPool {
  // PGlite answers without I/O, so a chain of statements is one unbroken run of promise callbacks that keeps
  // this process's sockets and timers waiting until it ends. A probe notes when the event loop last turned;
  // a borrow made after it has not turned for `starveMs` waits one turn first, as a network round trip would.
  let probeSince = 0;
  const probe = () => (probeSince = 0);
  const fairTurn = (): Promise<void> | undefined => {
    const now = performance.now();
    if (probeSince === 0) {
      probeSince = now;
      setImmediate(probe);
    } else if (now - probeSince > starveMs) return new Promise<void>((r) => setImmediate(r));
    return undefined;
  };
  let tail: Promise<void> = Promise.resolve();
  let ended = false;
  return {
    async connect(): Promise<PostgresPoolClient> {
      if (ended) throw new Error("database is closed");
      let release!: () => void;
      const turn = new Promise<void>((r) => (release = r));
      const previous = tail;
      tail = previous.then(() => turn);
      await previous;
      await fairTurn();
      let released = false;
      return {
        async query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> {
          const res = await db.query<R>(sql, parameters as unknown[]);
          return {
            command: (res as { command?: string }).command as PostgresQueryResult<R>["command"],
            rowCount: res.affectedRows ?? res.rows.length,
            rows: res.rows,
          };
        },
        release() {
          if (released) return;
          released = true;
          release();
        },
      } as PostgresPoolClient;
    },
    async end() {
      ended = true;
      await tail;
      await db.close();
      onEnd();
    },
  };
}
