import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../test/support/gateway-process.js";
import { readyLine } from "../test/support/log-lines.js";
import { runAutocannon } from "./load/autocannon-run.js";
import type { LoadResult } from "./load/load-result.js";
import { categoryShares, readProfile, topFunctions } from "./profile-categories.js";
import { type Fixture, type HttpProtocol, httpRequest, type Rpc } from "./scenarios.js";

/** What a profiled load run found. */
export interface ProfileResult {
  what: string;
  result: LoadResult;
  categories: [string, number][];
  top: [string, number][];
}

/**
 * Starts the gateway with `node --cpu-prof` on `env`'s database, loads it with
 * `protocol` `rpc` for `seconds` (64 connections, after a 2 s warm-up), stops
 * it and summarizes the profile's load phase.
 */
export async function profileGateway(env: Record<string, string>, f: Fixture, protocol: HttpProtocol, rpc: Rpc, seconds: number): Promise<ProfileResult> {
  const dir = mkdtempSync(join(tmpdir(), "wagw-prof-"));
  try {
    const child = spawn(process.execPath, ["--cpu-prof", `--cpu-prof-dir=${dir}`, "--import", "tsx", "src/main.ts"], {
      cwd: repoRoot,
      env: { ...process.env, ...env, PORT: "0", LOG_LEVEL: "info" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const exited = new Promise((r) => child.once("exit", r));
    let err = "";
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on("data", (d: Buffer) => {
        err += d.toString();
        const ready = readyLine(err);
        if (ready) resolve(ready.url);
      });
      child.once("exit", (code) => reject(new Error(`profiled gateway exited with ${code}: ${err}`)));
    });
    const spec = httpRequest(url, protocol, rpc, f);
    await runAutocannon(spec, 64, 2);
    const result = await runAutocannon(spec, 64, seconds);
    child.kill("SIGTERM");
    await exited;
    const file = readdirSync(dir).filter((x) => x.endsWith(".cpuprofile")).sort()[0];
    if (!file) throw new Error("no .cpuprofile written");
    const prof = readProfile(join(dir, file));
    return { what: `${protocol} ${rpc}`, result, categories: categoryShares(prof, seconds), top: topFunctions(prof, seconds, 12) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
