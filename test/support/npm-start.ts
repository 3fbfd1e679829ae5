import { type ChildProcess, spawn } from "node:child_process";
import { repoRoot } from "./gateway-process.js";
import { readyLine } from "./log-lines.js";

/** The gateway run as README says (`npm start`), in a process group of its own as a terminal or a process manager would. */
export interface NpmStartProcess {
  /** The `npm start` process; its pid is also the process group id. */
  npm: ChildProcess;
  /** The gateway's own pid (from its ready line). */
  gatewayPid: number;
  url: string;
  stderr(): string;
  /** Resolves once npm has exited and its output is read to the end. */
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs `npm start` with `env` and waits for the gateway's ready line. */
export async function npmStart(env: Record<string, string>, timeoutMs = 120_000): Promise<NpmStartProcess> {
  const npm = spawn("npm", ["start"], {
    cwd: repoRoot,
    detached: true, // its own process group, led by npm
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  npm.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => npm.once("close", (code, signal) => r({ code, signal })));
  const ready = await new Promise<{ pid: number; url: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start not ready in ${timeoutMs} ms:\n${err}`)), timeoutMs);
    const check = () => {
      const line = readyLine(err);
      if (line) {
        clearTimeout(timer);
        npm.stderr!.off("data", check);
        resolve(line);
      }
    };
    npm.stderr!.on("data", check);
    void closed.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}:\n${err}`));
    });
  });
  return { npm, gatewayPid: ready.pid, url: ready.url, stderr: () => err, closed };
}

/** True while a process with `pid` exists (a negative pid names a process group). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
