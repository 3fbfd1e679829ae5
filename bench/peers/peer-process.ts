import { type ChildProcess, spawn } from "node:child_process";
import { repoRoot } from "../../test/support/gateway-process.js";

/** A peer server (bare baseline or Express) running as a child process. */
export interface PeerProcess {
  child: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

/** Spawns `bench/peers/<file>` on `databaseUrl` and waits for its ready line. */
export async function spawnPeer(file: string, databaseUrl: string): Promise<PeerProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", `bench/peers/${file}`], {
    cwd: repoRoot,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: ["ignore", "inherit", "pipe"],
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  let err = "";
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      const m = /"msg":"ready","port":(\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`${file} exited with ${code}:\n${err}`)));
  });
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}
