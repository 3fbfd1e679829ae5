import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import pg from "pg";
import { sleep } from "./process-stats.js";

/** The server the bench uses: local PostgreSQL, trust auth for `postgres`. */
export const adminUrl = process.env.BENCH_PG_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

async function reachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 2_000 });
  try {
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

/** Starts the local cluster (`pg_ctlcluster`) when the server does not answer; throws if it stays down. */
export async function ensurePostgres(): Promise<void> {
  if (await reachable()) return;
  let versions: string[] = [];
  try {
    versions = readdirSync("/etc/postgresql");
  } catch {
    /* not a Debian cluster layout */
  }
  if (versions[0]) spawnSync("pg_ctlcluster", ["--skip-systemctl-redirect", versions[0], "main", "start"], { stdio: "ignore" });
  for (let i = 0; i < 30; i++) {
    if (await reachable()) return;
    await sleep(1_000);
  }
  throw new Error(`PostgreSQL is not reachable at ${adminUrl}`);
}

/** A fresh database for one run; `drop()` removes it (forcing out connections). */
export async function createFreshDatabase(prefix: string): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${Date.now()}_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** The server's version string, e.g. `PostgreSQL 15.8 …`. */
export function postgresVersion(): string {
  try {
    return execFileSync("psql", ["-Atqc", "show server_version", adminUrl], { encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}
