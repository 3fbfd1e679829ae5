import { type Kysely, sql } from "kysely";
import { migrationsApplied } from "../db/migrate.js";

/** What the database looks like to health checks. */
export interface DatabaseState {
  /** `select 1` answered in time. */
  reachable: boolean;
  /** Every known migration has been applied (false when unreachable). */
  migrated: boolean;
}

/** Checks the database; results are reused for `cacheMs` so probes cannot load it. */
export interface DatabaseProbe {
  check(): Promise<DatabaseState>;
}

/** Options of {@link createDatabaseProbe}. */
export interface DatabaseProbeOptions {
  /** A check slower than this counts as unreachable. Default 2 s. */
  timeoutMs?: number;
  /** How long one result is reused. Default 1 s. */
  cacheMs?: number;
}

/** A probe of `db`'s reachability and migration state. */
export function createDatabaseProbe(db: Kysely<any>, opts: DatabaseProbeOptions = {}): DatabaseProbe {
  const timeoutMs = opts.timeoutMs ?? 2_000;
  const cacheMs = opts.cacheMs ?? 1_000;
  let last: { at: number; state: Promise<DatabaseState> } | undefined;
  const run = async (): Promise<DatabaseState> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("database probe timed out")), timeoutMs);
    });
    try {
      await Promise.race([sql`select 1`.execute(db), timeout]);
      const migrated = await Promise.race([migrationsApplied(db), timeout]);
      return { reachable: true, migrated };
    } catch {
      return { reachable: false, migrated: false };
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    check() {
      const now = Date.now();
      if (!last || now - last.at >= cacheMs) last = { at: now, state: run() };
      return last.state;
    },
  };
}
