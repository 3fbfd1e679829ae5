import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";

/** The local Debian cluster (`/etc/postgresql/<version>/main`), or undefined when there is none. */
export function localCluster(): { version: string; name: string } | undefined {
  try {
    const version = readdirSync("/etc/postgresql")[0];
    return version ? { version, name: "main" } : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `pg_ctlcluster <version> main <action>` (fast shutdown for stop/restart). */
export function pgCtl(action: "stop" | "start" | "restart"): void {
  const c = localCluster();
  if (!c) throw new Error("no local PostgreSQL cluster under /etc/postgresql");
  const args = ["--skip-systemctl-redirect", c.version, c.name, action, ...(action === "start" ? [] : ["-m", "fast"])];
  execFileSync("pg_ctlcluster", args, { stdio: "ignore" });
}
