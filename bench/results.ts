import type { LoadResult } from "./load/load-result.js";
import type { ProfileResult } from "./profile-run.js";
import type { Rpc } from "./scenarios.js";
import type { StartupReport } from "./startup/startup-section.js";

/** Who served a load run. */
export type Target =
  | "bare node:http + pg"
  | "Express 5 + pg"
  | "gateway REST"
  | "gateway Connect JSON"
  | "gateway Connect binary"
  | "gateway gRPC (h2load)";

/** One row of a throughput table. */
export interface LoadRow {
  backend: "PostgreSQL" | "PGlite";
  rpc: Rpc;
  target: Target;
  result: LoadResult | undefined;
  /** Why there is no result (e.g. h2load missing). */
  skipped?: string;
}

/** Everything one bench run measured. */
export interface BenchResults {
  date: string;
  command: string;
  machine: Record<string, string>;
  settings: { connections: number; durationSec: number; rounds: number; liteRounds: number; liteDurationSec: number; h2Clients: number; h2Streams: number; profileSec: number };
  load: LoadRow[];
  /** Start-up, CLI and idle-memory figures beside their floors (bench/startup). */
  startup: StartupReport | undefined;
  /** RSS samples, MiB: label → value. */
  rss: { label: string; mib: number | undefined }[];
  /** CPU profiles of the gateway under load. */
  profiles: ProfileResult[];
  notes: string[];
}
