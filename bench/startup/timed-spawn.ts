import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { repoRoot } from "../../test/support/gateway-process.js";

/** Children started here and not yet exited: a failing bench ends them (none outlives it). */
export const liveChildren = new Set<ChildProcess>();

/** Spawns `node <args>` in the repository and tracks the child in `liveChildren` until it closes. */
function spawnNode(args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, args, { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  liveChildren.add(child);
  child.once("close", () => liveChildren.delete(child));
  return child;
}

/** A child process that printed the JSON line it was waited for. */
export interface TimedChild {
  child: ChildProcess;
  /** Wall clock from spawn to the awaited line, ms. */
  wallMs: number;
  /** When the awaited line arrived (`performance.now()` of this process). */
  readyAt: number;
  /** CPU time (user + system, all threads) the process had used when the line arrived, ms. */
  cpuMs: number | undefined;
  /** The awaited line, parsed. */
  line: Record<string, unknown>;
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then resolves once the process has exited (SIGKILL after 30 s). */
  stop(): Promise<void>;
}

/** Calls `onLine` with every complete line of `stream` that parses as a JSON object. */
function jsonLines(stream: NodeJS.ReadableStream, onLine: (o: Record<string, unknown>) => void): void {
  let rest = "";
  stream.on("data", (d: Buffer) => {
    const parts = (rest + d.toString()).split("\n");
    rest = parts.pop()!;
    for (const p of parts) {
      if (!p.startsWith("{")) continue;
      try {
        onLine(JSON.parse(p) as Record<string, unknown>);
      } catch {
        /* not a JSON line */
      }
    }
  });
}

/**
 * Spawns `node <args>` in the repository (no TypeScript loader: the gateway runs from dist/, the floors are
 * .mjs) and resolves when a JSON line on `stream` satisfies `ready`, with the time from spawn to that line.
 * Lines are parsed as JSON, so the order of a log line's fields does not matter.
 */
export function spawnTimed(
  args: string[],
  env: Record<string, string>,
  stream: "stdout" | "stderr",
  ready: (line: Record<string, unknown>) => boolean,
  timeoutMs = 180_000,
): Promise<TimedChild> {
  const t0 = performance.now();
  const child = spawnNode(args, env);
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
    if (err.length > 1e6) err = err.slice(-1e5);
  });
  const exited = new Promise<void>((r) => child.once("close", () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 30_000);
      await exited;
      clearTimeout(t);
    }
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${args.join(" ")} not ready in ${timeoutMs} ms:\n${err.slice(-2000)}`));
    }, timeoutMs);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(" ")} exited ${code} before it was ready:\n${err.slice(-2000)}`));
    };
    child.once("exit", onExit);
    jsonLines(child[stream]!, (line) => {
      if (!ready(line)) return;
      const readyAt = performance.now();
      const wallMs = readyAt - t0;
      const cpuMs = processCpuMs(child.pid);
      clearTimeout(timer);
      child.off("exit", onExit);
      resolve({ child, wallMs, readyAt, cpuMs, line, stdout: () => out, stderr: () => err, stop });
    });
  });
}

/** CPU ms (user + system) used so far by a live process (`/proc/<pid>/stat`). */
function processCpuMs(pid: number | undefined): number | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return undefined;
  }
}

/** CPU ms (user + system) of this process's children that have exited and been waited for (`cutime` + `cstime`). */
function reapedChildrenCpuMs(): number {
  const f = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
  return (Number(f[13]) + Number(f[14])) * 10;
}

/**
 * Runs `node <args>` to completion; resolves with its wall time (spawn → exit), its CPU time (from this process's
 * reaped-children counters, so nothing else of ours may exit meanwhile) and its output.
 */
export function runTimed(args: string[], env: Record<string, string> = {}): Promise<{ wallMs: number; cpuMs: number; code: number | null; stdout: string; stderr: string }> {
  const cpu0 = reapedChildrenCpuMs();
  const t0 = performance.now();
  const child = spawnNode(args, env);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once("close", (code) => resolve({ wallMs: performance.now() - t0, cpuMs: reapedChildrenCpuMs() - cpu0, code, stdout, stderr })));
}
