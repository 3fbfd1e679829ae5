import { readdirSync, readFileSync } from "node:fs";
import { cpuSeconds } from "../child-process.js";

/** CPU seconds used so far by the processes a messages-bench phase involves, and by the whole machine. */
export interface CpuSnapshot {
  at: number;
  /** Per named process (the sender, the simulator, this bench). */
  procs: Record<string, number>;
  /** PostgreSQL backends connected to the bench's database, by pid. */
  pg: Map<number, number>;
  /** The machine's busy CPU seconds (all processes, from /proc/stat). */
  machine: number;
}

const ticks = 100;

/** CPU seconds of every PostgreSQL backend whose title names `database`. */
function postgresBackends(database: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8");
      if (!cmd.startsWith("postgres:") || !cmd.includes(` ${database} `)) continue;
      out.set(Number(d), cpuSeconds(Number(d)));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function machineBusy(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / ticks;
}

/** Takes a snapshot of `procs` (name → pid) and of the backends serving `database`. */
export function cpuSnapshot(procs: Record<string, number>, database: string): CpuSnapshot {
  const out: Record<string, number> = {};
  for (const [name, pid] of Object.entries(procs)) out[name] = name === "bench" ? process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6 : cpuSeconds(pid);
  return { at: performance.now(), procs: out, pg: postgresBackends(database), machine: machineBusy() };
}

/** Cores used between two snapshots: per process, PostgreSQL, and everything else on the machine. */
export function coresBetween(a: CpuSnapshot, b: CpuSnapshot): Record<string, number> {
  const seconds = (b.at - a.at) / 1000;
  const out: Record<string, number> = {};
  let ours = 0;
  for (const name of Object.keys(b.procs)) {
    const used = b.procs[name]! - (a.procs[name] ?? 0);
    out[name] = used / seconds;
    ours += used;
  }
  let pg = 0;
  for (const [pid, t] of b.pg) pg += t - (a.pg.get(pid) ?? 0);
  out.postgres = pg / seconds;
  ours += pg;
  out.others = Math.max(0, b.machine - a.machine - ours) / seconds;
  return out;
}
