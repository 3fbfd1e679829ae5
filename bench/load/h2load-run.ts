import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LoadResult, percentile } from "./load-result.js";

/** How to get h2load when it is missing. */
export const h2loadInstallHint = "apt-get install -y nghttp2-client   # Debian/Ubuntu: provides h2load";

/** The h2load version line, or undefined when h2load is not installed. */
export function h2loadVersion(): string | undefined {
  const r = spawnSync("h2load", ["--version"], { encoding: "utf8" });
  if (r.error || r.status !== 0) return undefined;
  return r.stdout.trim().split("\n")[0];
}

/** A gRPC unary call to repeat over h2c. */
export interface GrpcRequestSpec {
  url: string;
  headers: Record<string, string>;
  /** The length-prefixed protobuf request. */
  body: Buffer;
}

/**
 * Runs h2load (HTTP/2 prior knowledge) for `durationSec` after `warmUpSec`,
 * with `clients` connections × `streams` concurrent streams each. Latency
 * percentiles come from h2load's per-request log (requests still in flight
 * when the time is up are logged with status 0 and left out).
 */
export async function runH2load(spec: GrpcRequestSpec, clients: number, streams: number, durationSec: number, warmUpSec = 1): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), "wagw-h2load-"));
  try {
    const bodyFile = join(dir, "body.bin");
    const logFile = join(dir, "log.tsv");
    writeFileSync(bodyFile, spec.body);
    const args = [
      "-D", String(durationSec), ...(warmUpSec > 0 ? ["--warm-up-time", String(warmUpSec)] : []),
      "-c", String(clients), "-m", String(streams), "-t", "1",
      "-d", bodyFile, `--log-file=${logFile}`,
      ...Object.entries(spec.headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]),
      spec.url,
    ];
    const out = await new Promise<string>((resolve, reject) => {
      execFile("h2load", args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`h2load failed: ${err.message}\n${stderr}`));
        else resolve(stdout);
      });
    });
    const durations: number[] = [];
    let bad = 0;
    for (const line of readFileSync(logFile, "utf8").split("\n")) {
      const [, status, us] = line.split("\t");
      if (us === undefined || status === "0") continue;
      durations.push(Number(us) / 1000);
      if (status !== "200") bad++;
    }
    durations.sort((a, b) => a - b);
    const rps = Number(/finished in [^,]+, ([\d.]+) req\/s/.exec(out)?.[1] ?? NaN);
    const m = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
    return {
      rps,
      p50: percentile(durations, 50),
      p99: percentile(durations, 99),
      requests: durations.length,
      failures: bad,
      errors: m ? Number(m[2]) + Number(m[3]) + Number(m[4]) : 0,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
