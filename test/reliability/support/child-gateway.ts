import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { createApiKeyRepository } from "../../../src/api-keys/api-key-repository.js";
import { migrateToLatest } from "../../../src/db/migrate.js";
import { openDatabase } from "../../../src/db/open-database.js";
import type { Database } from "../../../src/db/schema.js";
import { ulid } from "../../../src/util/ulid.js";
import type { Backend } from "../../support/backends.js";
import { type GatewayProcess, spawnGateway } from "../../support/gateway-process.js";

/** A gateway running as a child process, with two organizations' admin keys. */
export interface ChildGateway {
  proc: GatewayProcess;
  /** Admin keys (manage + read) of two fresh organizations. */
  keys: { a: string; b: string };
  orgs: { a: string; b: string };
  /** Starts the gateway again on the same database (after a stop or a kill). */
  restart(): Promise<GatewayProcess>;
  /** Opens the database directly (stop the process first on PGlite); the caller destroys it. */
  openDb(): Promise<Kysely<Database>>;
  /** Stops the process (if running) and removes the data directory. */
  close(): Promise<void>;
}

/**
 * Creates two organizations' keys directly in the database, then spawns the
 * real entry point (`node --import tsx src/main.ts`) on `backend` with `env`.
 */
export async function startChildGateway(backend: Backend, env: Record<string, string> = {}): Promise<ChildGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), "wagw-rel-"));
  const full = { DATA_DIR: dataDir, SHUTDOWN_GRACE_MS: "2000", ...(backend.databaseUrl ? { DATABASE_URL: backend.databaseUrl } : {}), ...env };
  const openDb = async () => (await openDatabase({ databaseUrl: backend.databaseUrl, dataDir })).db;
  const orgs = { a: `org_${ulid()}`, b: `org_${ulid()}` };
  const db = await openDb();
  let keys: { a: string; b: string };
  try {
    await migrateToLatest(db);
    const repo = createApiKeyRepository(db);
    const mk = async (org: string) => (await repo.create({ organizationId: org, name: "reliability", permissions: ["manage", "read"] })).secret;
    keys = { a: await mk(orgs.a), b: await mk(orgs.b) };
  } finally {
    await db.destroy();
  }
  const child: ChildGateway = {
    proc: await spawnGateway(full),
    keys,
    orgs,
    async restart() {
      child.proc = await spawnGateway(full);
      return child.proc;
    },
    openDb,
    async close() {
      if (child.proc.child.exitCode === null && child.proc.child.signalCode === null) await child.proc.stop("SIGTERM");
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return child;
}
