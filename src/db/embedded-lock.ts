import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { apiError } from "../errors/api-error.js";

/** True when a process with this pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Claims `dataDir` for this process with a pid file (`wa-gateway.pid`).
 * PGlite is one database in one process: a second process opening the same
 * files would corrupt them, so it is refused with a message that says what to
 * do instead (`conflict`). A file left by a process that died is taken over. Returns the
 * release function (also run at exit).
 */
export function lockEmbeddedDatabase(dataDir: string): () => void {
  const file = join(dataDir, "wa-gateway.pid");
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) throw err;
      const pid = Number(readFileSync(file, "utf8").trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw apiError(
          "conflict",
          `the embedded database in ${dataDir} is in use by process ${pid}. ` +
            "Embedded mode (PGlite) runs one gateway per data directory; stop that process, use another DATA_DIR, " +
            "or set DATABASE_URL to a PostgreSQL server to run several gateways on one database.",
        );
      }
      unlinkSync(file);
    }
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off("exit", release);
    try {
      if (readFileSync(file, "utf8").trim() === String(process.pid)) unlinkSync(file);
    } catch {
      // already gone
    }
  };
  process.on("exit", release);
  return release;
}
