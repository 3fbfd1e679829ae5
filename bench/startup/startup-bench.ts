import { cpus, loadavg } from "node:os";
import { describeMachine } from "../machine.js";
import { measureLongIdleRss } from "./long-idle.js";
import { measureStartup } from "./measure.js";
import { measurePairedRss } from "./paired-session.js";
import { startupAims, type StartupReport } from "./startup-section.js";

/**
 * The start-up bench: first start and restart to ready (PGlite and PostgreSQL), CLI call time and idle RSS, each
 * beside a floor measured in the same run. Settings: STARTUP_BENCH_RUNS (default 5), STARTUP_BENCH_SETTLE_MS (idle
 * time before RSS is read, default 5000), STARTUP_BENCH_CLI_CALLS (per run, default 3), STARTUP_BENCH_IDLE_S (the
 * long-idle RSS sample, once, default 90; 0 skips it), STARTUP_BENCH_PAIRED=0 skips the paired-session row.
 */
export async function runStartupBench(say: (s: string) => void): Promise<StartupReport> {
  const started = Date.now();
  const before = loadavg()[0]!;
  const runs = Number(process.env.STARTUP_BENCH_RUNS ?? 5);
  const settleMs = Number(process.env.STARTUP_BENCH_SETTLE_MS ?? 5_000);
  const cliCalls = Number(process.env.STARTUP_BENCH_CLI_CALLS ?? 3);
  const { autocannon: _a, h2load: _h, ...machine } = await describeMachine();
  const idleSeconds = Number(process.env.STARTUP_BENCH_IDLE_S ?? 90);
  const samples = await measureStartup({ runs, settleMs, cliCalls, say });
  if (idleSeconds > 0) for (const [k, v] of await measureLongIdleRss(idleSeconds, say)) samples.set(k, [v]);
  const paired = process.env.STARTUP_BENCH_PAIRED === "0" ? [] : await measurePairedRss(settleMs, say);
  const report: StartupReport = {
    date: new Date().toISOString().replace(/:\d+\.\d+Z$/, "Z").replace("T", " "),
    machine,
    runs,
    settleMs,
    idleSeconds,
    cliCalls,
    samples,
    paired,
    load: { before, after: loadavg()[0]!, cores: cpus().length },
    seconds: (Date.now() - started) / 1000,
  };
  for (const a of startupAims(samples)) say(`aim ${a.what} ${a.aim}: ${a.verdict}`);
  return report;
}
