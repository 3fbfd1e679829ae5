import { execFileSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { h2loadVersion } from "./load/h2load-run.js";
import { postgresVersion } from "./postgres-db.js";

function git(args: string[]): string {
  try {
    return execFileSync("git", args, { encoding: "utf8" }).trim();
  } catch {
    return "";
  }
}

/** What the figures were measured on. */
export async function describeMachine(): Promise<Record<string, string>> {
  const { default: autocannonPkg } = await import("autocannon/package.json", { with: { type: "json" } });
  const dirty = git(["status", "--porcelain", "--", "src", "gen"]) !== "";
  return {
    CPU: `${cpus()[0]?.model ?? "unknown"} × ${cpus().length} cores`,
    RAM: `${(totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    "Node.js": process.version,
    PostgreSQL: postgresVersion(),
    autocannon: (autocannonPkg as { version: string }).version,
    h2load: h2loadVersion() ?? "not installed",
    commit: `${git(["rev-parse", "--short", "HEAD"])}${dirty ? " (+ uncommitted changes in src/)" : ""}`,
  };
}
