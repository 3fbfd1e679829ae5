import { performance } from "node:perf_hooks";
import { type GatewayProcess, runCli, spawnGateway } from "../test/support/gateway-process.js";
import { readyLine } from "../test/support/log-lines.js";
import { rssMiB, sleep } from "./process-stats.js";
import type { Fixture } from "./scenarios.js";

/** A gateway child process and how long it took to become ready. */
export interface StartedGateway {
  gw: GatewayProcess;
  /** Wall clock from spawn to the "ready" log line, ms (includes Node and module load). */
  wallMs: number;
  /** The gateway's own `startupMs` from its ready line (database open, migrations, listen). */
  selfMs: number | undefined;
  /** RSS after 2 s idle, MiB. */
  idleRss: number | undefined;
}

/** Spawns `npm start`'s entry point with `env`, times it to ready and samples idle RSS. */
export async function startGatewayTimed(env: Record<string, string>): Promise<StartedGateway> {
  const t0 = performance.now();
  const gw = await spawnGateway({ LOG_LEVEL: "info", API_KEY_CACHE_TTL_MS: "10000", ...env });
  const wallMs = performance.now() - t0;
  const startupMs = readyLine(gw.stderr())?.startupMs;
  await sleep(2_000);
  return { gw, wallMs, selfMs: typeof startupMs === "number" ? startupMs : undefined, idleRss: rssMiB(gw.child.pid) };
}

/** Creates an API key with the project's CLI (`apikey create`) and returns the secret. */
export async function cliKey(org: string, name: string, env: Record<string, string>): Promise<string> {
  const r = await runCli(["apikey", "create", "--org", org, "--name", name, "--permissions", "manage,read"], env);
  if (r.code !== 0) throw new Error(`cli apikey create failed (${r.code}): ${r.stderr}`);
  return r.stdout.trim();
}

/** Creates `n` sessions through the gateway's REST API; returns their ids. */
export async function seedSessions(baseUrl: string, key: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${baseUrl}/api/v1/sessions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ label: `bench ${i}` }),
    });
    if (res.status !== 201) throw new Error(`seeding failed: ${res.status} ${await res.text()}`);
    ids.push(((await res.json()) as { id: string }).id);
  }
  return ids;
}

/** Keys for a bench org pair plus 50 seeded sessions. */
export async function prepareFixture(env: Record<string, string>): Promise<{ readKey: string; writeKey: string }> {
  const readKey = await cliKey("org_bench_read", "bench-read", env);
  const writeKey = await cliKey("org_bench_write", "bench-write", env);
  return { readKey, writeKey };
}

/** Fills in the fixture's session id by seeding 50 sessions in the read org. */
export async function seedFixture(baseUrl: string, keys: { readKey: string; writeKey: string }): Promise<Fixture> {
  const ids = await seedSessions(baseUrl, keys.readKey, 50);
  return { ...keys, sessionId: ids[25]! };
}
