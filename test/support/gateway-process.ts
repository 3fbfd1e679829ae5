import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { readyLine } from "./log-lines.js";
import { testSendingEnv } from "./sending-defaults.js";

/** The repository root. */
export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

/** A gateway running as a real child process (`node dist/src/main.js`, as `npm start`). */
export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  /** Everything written to stdout so far. */
  stdout(): string;
  stderr(): string;
  /** The `msg` and error of each log line at level error or above so far, one per line (for a failing test's message). */
  errors(): string;
  /**
   * Resolves with the first match of `re` in stdout, waiting for it to arrive: stdout and stderr are separate
   * pipes, so the ready line on stderr says nothing about what stdout has delivered yet.
   */
  waitForStdout(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Sends `signal` and resolves with the exit code once the process has exited and its output is read to the end. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Spawns the gateway with `env` and waits for its "ready" log line. */
export async function spawnGateway(env: Record<string, string>, timeoutMs = 60_000): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ["dist/src/main.js"], {
    cwd: repoRoot,
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", ...testSendingEnv, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const stdoutWaiters = new Set<() => void>();
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
    for (const w of stdoutWaiters) w();
  });
  // "close" comes after "exit" and after both pipes are read to their end.
  const exited = new Promise<number | null>((r) => child.once("close", (code) => r(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway not ready in ${timeoutMs} ms:\n${err}`)), timeoutMs);
    child.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      const ready = readyLine(err);
      if (ready) {
        clearTimeout(timer);
        resolve(ready.url);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code}:\n${err}`));
    });
  });
  return {
    child,
    url,
    stdout: () => out,
    stderr: () => err,
    errors: () => errorLines(err),
    waitForStdout(re, waitMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = re.exec(out);
          if (!m) return false;
          done();
          resolve(m);
          return true;
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`stdout did not match ${re} in ${waitMs} ms:\n${out}`));
        }, waitMs);
        const done = () => {
          clearTimeout(timer);
          stdoutWaiters.delete(check);
        };
        stdoutWaiters.add(check);
        check();
      });
    },
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs the CLI (the `wa-gateway` bin, compiled) to completion. */
export function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["bin/wa-gateway.mjs", ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The `msg` and `err` of the JSON log lines at level error or fatal in `text` (levels as labels or numbers). */
export function errorLines(text: string): string {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const l = JSON.parse(line) as { level?: number | string; msg?: string; err?: { type?: string; message?: string; code?: string; stack?: string } };
      if (!(typeof l.level === "number" ? l.level >= 50 : l.level === "error" || l.level === "fatal")) continue;
      const e = l.err;
      out.push(`${l.msg ?? ""}${e ? `: ${e.type ?? "Error"}${e.code ? ` ${e.code}` : ""}: ${e.message ?? ""} ${e.stack?.split("\n").slice(1, 4).join(" | ") ?? ""}` : ""}`);
    } catch {
      // not a log line
    }
  }
  return out.join("\n");
}
