import type { PGlite } from "@electric-sql/pglite";
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from "kysely";

/**
 * Presents one PGlite instance as the `pg`-style pool Kysely's PostgresDialect
 * expects, so both backends share one dialect, one query compiler and one set
 * of migrations. PGlite is a single connection: `connect()` hands it out to
 * one borrower at a time (a FIFO mutex), so a transaction never interleaves
 * with another caller's statements. `onEnd` runs after the database closed.
 */
export function createPglitePool(db: PGlite, onEnd: () => void = () => {}): PostgresPool {
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
