/**
 * CPU profile of the gateway under one load:
 * `npx tsx bench/profile.ts [REST|"Connect JSON"|"Connect binary"] [GetSession|ListSessions|CreateSession] [seconds]`.
 * Uses a fresh PostgreSQL database (dropped afterwards) and prints where the
 * gateway's time went during the load.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cliKey, seedFixture, startGatewayTimed } from "./gateway-target.js";
import { createFreshDatabase, ensurePostgres } from "./postgres-db.js";
import { profileGateway } from "./profile-run.js";
import type { HttpProtocol, Rpc } from "./scenarios.js";

const protocol = (process.argv[2] ?? "REST") as HttpProtocol;
const rpc = (process.argv[3] ?? "GetSession") as Rpc;
const seconds = Number(process.argv[4] ?? 10);
const pct = (x: number) => `${(100 * x).toFixed(1).padStart(5)}%`;

async function main(): Promise<void> {
  await ensurePostgres();
  const db = await createFreshDatabase("wagw_prof");
  const dir = mkdtempSync(join(tmpdir(), "wagw-prof-"));
  const env = { DATABASE_URL: db.url, DATA_DIR: dir };
  try {
    const keys = { readKey: await cliKey("org_prof_read", "prof", env), writeKey: await cliKey("org_prof_write", "prof", env) };
    const seeder = await startGatewayTimed(env);
    const f = await seedFixture(seeder.gw.url, keys).finally(() => seeder.gw.stop());
    const p = await profileGateway(env, f, protocol, rpc, seconds);
    console.log(`${p.what}: ${Math.round(p.result.rps)} req/s, p50 ${p.result.p50} ms, p99 ${p.result.p99} ms, non-2xx ${p.result.failures}\n\nself time by category`);
    for (const [k, v] of p.categories) console.log(`${pct(v)}  ${k}`);
    console.log("\nself time by function");
    for (const [k, v] of p.top) console.log(`${pct(v)}  ${k}`);
  } finally {
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`profile failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
