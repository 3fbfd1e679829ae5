import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";

/** A child process started by a bench, with everything it printed so far. */
export interface Proc {
  child: ChildProcess;
  stdout: string;
  stderr: string;
}

const root = new URL("..", import.meta.url).pathname;

/** What marks a child ready: a pattern, or a function finding it in the output so far (its result is the match). */
export type Readiness = RegExp | ((text: string) => readonly string[] | undefined);

/**
 * Starts `node --import tsx <args>` in the repository and resolves once
 * `ready` matches its `stream` (rejects if it exits first or after 120 s).
 * `node` picks another Node.js binary than the bench's own; `tsx: false`
 * runs plain `node <args>` (compiled JavaScript, as `npm start` does).
 */
export function startChild(args: string[], env: Record<string, string>, ready: Readiness, stream: "stdout" | "stderr", node = process.execPath, opts: { tsx?: boolean } = {}): Promise<Proc & { match: readonly string[] }> {
  const child = spawn(node, [...(opts.tsx === false ? [] : ["--import", "tsx"]), ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const p: Proc = { child, stdout: "", stderr: "" };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      // A child that never became ready must not outlive the bench.
      child.kill("SIGKILL");
      reject(new Error(`${args.join(" ")} not ready:\n${p.stderr.slice(-2000)}`));
    }, 120_000);
    const check = () => {
      const m = typeof ready === "function" ? ready(p[stream]) : (ready.exec(p[stream]) ?? undefined);
      if (m) {
        clearTimeout(timer);
        resolve({ ...p, match: m, get stdout() { return p.stdout; }, get stderr() { return p.stderr; } });
      }
    };
    child.stdout!.on("data", (d: Buffer) => ((p.stdout += d.toString()), check()));
    child.stderr!.on("data", (d: Buffer) => {
      p.stderr += d.toString();
      if (p.stderr.length > 1e6) p.stderr = p.stderr.slice(-1e5);
      check();
    });
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited ${code}:\n${p.stderr.slice(-2000)}`)));
  });
}

/** CPU seconds (user + system) used so far by `pid`. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Runs `fn` over `items` with at most `size` at a time. */
export async function runPool<T>(items: T[], size: number, fn: (t: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: size }, async () => {
    for (let t = queue.shift(); t !== undefined; t = queue.shift()) await fn(t);
  }));
}
