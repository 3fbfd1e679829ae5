import { mkdirSync } from "node:fs";
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import type { Database } from "./schema.js";
import { lockEmbeddedDatabase } from "./embedded-lock.js";
import { createPglitePool } from "./pglite-pool.js";

/** An open database and what it runs on. */
export interface OpenDatabase {
  db: Kysely<Database>;
  /** `postgres` (server, through `pg`) or `pglite` (embedded). */
  kind: "postgres" | "pglite";
}

/** Where to open the database. */
export interface DatabaseTarget {
  /** `postgres://…`; when undefined, embedded PGlite is used. */
  databaseUrl: string | undefined;
  /** PGlite data directory; `memory://` keeps it in memory. */
  dataDir: string;
  /** Max pooled connections for PostgreSQL. */
  poolSize?: number;
}

/**
 * Opens PostgreSQL through `pg` when a URL is given, otherwise an embedded
 * PGlite database persisted under `dataDir/pglite`.
 */
export async function openDatabase(target: DatabaseTarget): Promise<OpenDatabase> {
  if (target.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: target.databaseUrl,
      max: target.poolSize ?? 10,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
    });
    // An idle client losing its server must not crash the process; the pool
    // replaces it and the next query reports the outage.
    pool.on("error", () => {});
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, kind: "postgres" };
  }
  const { PGlite } = await import("@electric-sql/pglite");
  let dir = target.dataDir;
  let unlock = () => {};
  if (!dir.startsWith("memory://")) {
    mkdirSync(target.dataDir, { recursive: true });
    unlock = lockEmbeddedDatabase(target.dataDir);
    dir = `${target.dataDir}/pglite`;
  }
  let lite;
  try {
    lite = await PGlite.create(dir);
  } catch (err) {
    unlock();
    throw err;
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: createPglitePool(lite, unlock) }) });
  return { db, kind: "pglite" };
}
