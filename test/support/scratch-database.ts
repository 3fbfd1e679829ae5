import { randomBytes } from "node:crypto";
import pg from "pg";

/** A PostgreSQL database made for one test gateway (or one group of processes) and dropped after. */
export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

/**
 * Creates a fresh database on the server of `baseUrl`, named after the base
 * database (so CI's clean-up of `<base>_*` catches leftovers). Gateways on one
 * database form a cluster and share sessions, so test files that run in
 * parallel must not share one.
 */
export async function createScratchDatabase(baseUrl: string): Promise<ScratchDatabase> {
  const base = new URL(baseUrl);
  const name = `${base.pathname.slice(1)}_t${randomBytes(5).toString("hex")}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: baseUrl });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`create database "${name}"`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`drop database if exists "${name}" with (force)`) };
}
