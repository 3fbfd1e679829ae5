import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFreshDatabase } from "../postgres-db.js";
import { rssMiB, sleep } from "../process-stats.js";
import { startGateway } from "./gateway-start.js";
import type { SampleName } from "./measure.js";
import { spawnTimed, type TimedChild } from "./timed-spawn.js";

const answered = (l: Record<string, unknown>) => l.answered === true;

/**
 * RSS `seconds` after ready of the restarted gateway on PGlite and on PostgreSQL and of both floors, all four
 * idle at once (idle processes do not disturb each other's memory). A few seconds after start, V8 still holds
 * the young generation it grew while loading the modules (tens of MiB, released by a full GC within about a
 * minute), so this is the figure of a gateway left idle.
 */
export async function measureLongIdleRss(seconds: number, say: (s: string) => void): Promise<Map<SampleName, number>> {
  const dir = mkdtempSync(join(tmpdir(), "wagw-startup-idle-"));
  const db = await createFreshDatabase("wagw_startup_idle");
  const running: TimedChild[] = [];
  const out = new Map<SampleName, number>();
  try {
    // Each process is started after a first run on its own database (restart), as in the timed runs.
    const fresh = await spawnTimed(["bench/startup/pglite-floor.mjs", join(dir, "floor")], {}, "stdout", answered);
    await fresh.stop();
    const liteFloor = await spawnTimed(["bench/startup/pglite-floor.mjs", join(dir, "floor")], {}, "stdout", answered);
    running.push(liteFloor);
    const pgFloor = await spawnTimed(["bench/startup/pg-floor.mjs", db.url], {}, "stdout", answered);
    running.push(pgFloor);
    const liteEnv = { DATA_DIR: join(dir, "lite") };
    await (await startGateway(liteEnv, true)).stop();
    const lite = await startGateway(liteEnv);
    running.push(lite);
    const pgEnv = { DATA_DIR: join(dir, "pg"), DATABASE_URL: db.url };
    await (await startGateway(pgEnv, true)).stop();
    const pg = await startGateway(pgEnv);
    running.push(pg);
    const at = (p: TimedChild, k: SampleName) =>
      (async () => {
        await sleep(Math.max(0, p.readyAt + seconds * 1000 - performance.now()));
        const v = rssMiB(p.child.pid);
        if (v !== undefined) out.set(k, v);
      })();
    await Promise.all([
      at(liteFloor, "PGlite floor RSS, long idle"),
      at(pgFloor, "pg floor RSS, long idle"),
      at(lite, "gateway PGlite RSS, long idle"),
      at(pg, "gateway PostgreSQL RSS, long idle"),
    ]);
    say(`RSS ${seconds} s after ready: ${[...out].map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", ")}`);
  } finally {
    await Promise.all(running.map((p) => p.stop()));
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
