import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFreshDatabase, ensurePostgres } from "../postgres-db.js";
import { rssMiB, sleep } from "../process-stats.js";
import { startGateway } from "./gateway-start.js";
import { runTimed, spawnTimed } from "./timed-spawn.js";

/** What one start-up bench run collected: every sample of every figure, by name (`… CPU`: its CPU ms). */
export type Samples = Map<SampleName | `${SampleName} CPU`, number[]>;

/** The figures measured (ms unless the name says RSS, then MiB). */
export type SampleName =
  | "node -e 0"
  | "PGlite floor, fresh dir"
  | "PGlite floor, existing dir"
  | "PGlite floor RSS"
  | "PGlite floor RSS, long idle"
  | "gateway PGlite first start"
  | "gateway PGlite first start, own"
  | "gateway PGlite restart"
  | "gateway PGlite restart, own"
  | "gateway PGlite RSS"
  | "gateway PGlite RSS, long idle"
  | "pg floor"
  | "pg floor RSS"
  | "pg floor RSS, long idle"
  | "gateway PostgreSQL first start"
  | "gateway PostgreSQL first start, own"
  | "gateway PostgreSQL restart"
  | "gateway PostgreSQL restart, own"
  | "gateway PostgreSQL RSS"
  | "gateway PostgreSQL RSS, long idle"
  | "CLI sessions list"
  | "CLI --help"
  | "fetch floor";

/** How the runs are made. */
export interface StartupOptions {
  /** Runs of every figure (each run visits every figure in turn). */
  runs: number;
  /** Idle time after ready (or after the floor's answer) before RSS is read, ms. */
  settleMs: number;
  /** CLI calls of each kind per run. */
  cliCalls: number;
  say: (s: string) => void;
}

const answered = (l: Record<string, unknown>) => l.answered === true;

/**
 * Runs the start-up figures `runs` times, interleaved (every figure once per run, floors beside the gateway), so
 * background load on a shared machine hits all of them alike. Every process is a child; this one only waits.
 */
export async function measureStartup(o: StartupOptions): Promise<Samples> {
  const samples: Samples = new Map();
  const add = (k: SampleName | `${SampleName} CPU`, v: number | undefined) => {
    if (v !== undefined) samples.set(k, [...(samples.get(k) ?? []), v]);
  };
  const timed = (k: SampleName, t: { wallMs: number; cpuMs: number | undefined }) => {
    add(k, t.wallMs);
    add(`${k} CPU`, t.cpuMs);
  };
  await ensurePostgres();
  for (let run = 1; run <= o.runs; run++) {
    o.say(`run ${run}/${o.runs}`);
    timed("node -e 0", await runTimed(["-e", "0"]));

    // Floor: a bare process opening PGlite (fresh, then the same directory again) and answering one query.
    const floorDir = mkdtempSync(join(tmpdir(), "wagw-startup-floor-"));
    try {
      const fresh = await spawnTimed(["bench/startup/pglite-floor.mjs", join(floorDir, "pglite")], {}, "stdout", answered);
      await fresh.stop();
      timed("PGlite floor, fresh dir", fresh);
      const again = await spawnTimed(["bench/startup/pglite-floor.mjs", join(floorDir, "pglite")], {}, "stdout", answered);
      await sleep(o.settleMs);
      add("PGlite floor RSS", rssMiB(again.child.pid));
      await again.stop();
      timed("PGlite floor, existing dir", again);
    } finally {
      rmSync(floorDir, { recursive: true, force: true });
    }

    // The gateway on PGlite: first start on an empty DATA_DIR, then a restart on it; RSS and CLI calls on the second.
    const dataDir = mkdtempSync(join(tmpdir(), "wagw-startup-lite-"));
    try {
      const first = await startGateway({ DATA_DIR: dataDir }, true);
      await first.stop();
      timed("gateway PGlite first start", first);
      add("gateway PGlite first start, own", first.selfMs);
      const gw = await startGateway({ DATA_DIR: dataDir });
      try {
        timed("gateway PGlite restart", gw);
        add("gateway PGlite restart, own", gw.selfMs);
        await sleep(o.settleMs);
        add("gateway PGlite RSS", rssMiB(gw.child.pid));
        await cliCalls(gw.url, first.key!, o.cliCalls, timed);
      } finally {
        await gw.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }

    // PostgreSQL: a fresh database per run (dropped after); floor: a bare `pg` process answering one query.
    const db = await createFreshDatabase("wagw_startup_bench");
    const pgDir = mkdtempSync(join(tmpdir(), "wagw-startup-pg-"));
    try {
      const floor = await spawnTimed(["bench/startup/pg-floor.mjs", db.url], {}, "stdout", answered);
      await sleep(o.settleMs);
      add("pg floor RSS", rssMiB(floor.child.pid));
      await floor.stop();
      timed("pg floor", floor);
      const env = { DATABASE_URL: db.url, DATA_DIR: pgDir };
      const first = await startGateway(env, true);
      await first.stop();
      timed("gateway PostgreSQL first start", first);
      add("gateway PostgreSQL first start, own", first.selfMs);
      const gw = await startGateway(env);
      try {
        timed("gateway PostgreSQL restart", gw);
        add("gateway PostgreSQL restart, own", gw.selfMs);
        await sleep(o.settleMs);
        add("gateway PostgreSQL RSS", rssMiB(gw.child.pid));
      } finally {
        await gw.stop();
      }
    } finally {
      await db.drop();
      rmSync(pgDir, { recursive: true, force: true });
    }
    o.say(summary(samples));
  }
  return samples;
}

/** `sessions list` and `--help` through the CLI, and the floor: a bare `node -e` making the same call with fetch. */
async function cliCalls(url: string, key: string, n: number, timed: (k: SampleName, t: { wallMs: number; cpuMs: number }) => void): Promise<void> {
  const env = { WA_GATEWAY_URL: url, WA_GATEWAY_TOKEN: key };
  const fetchOnce = `fetch(${JSON.stringify(`${url}/wagateway.v1.SessionService/ListSessions`)}, { method: "POST", headers: { authorization: ${JSON.stringify(`Bearer ${key}`)}, "content-type": "application/json" }, body: "{}" }).then(async (r) => { const t = await r.text(); if (!r.ok) throw new Error(t); process.stdout.write(t); })`;
  for (let i = 0; i < n; i++) {
    const list = await runTimed(["bin/wa-gateway.mjs", "sessions", "list"], env);
    if (list.code !== 0) throw new Error(`wa-gateway sessions list exited ${list.code}: ${list.stderr}`);
    timed("CLI sessions list", list);
    const help = await runTimed(["bin/wa-gateway.mjs", "--help"]);
    if (help.code !== 0) throw new Error(`wa-gateway --help exited ${help.code}: ${help.stderr}`);
    timed("CLI --help", help);
    const floor = await runTimed(["-e", fetchOnce]);
    if (floor.code !== 0) throw new Error(`fetch floor exited ${floor.code}: ${floor.stderr}`);
    timed("fetch floor", floor);
  }
}

/** One line per figure so far (median), for the progress log. */
function summary(s: Samples): string {
  return [...s].filter(([k]) => !k.endsWith(" CPU")).map(([k, v]) => `${k} ${Math.round(median(v))}`).join(", ");
}

/** The median of `xs` (mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
