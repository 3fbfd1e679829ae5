/** One measured load run. */
export interface LoadResult {
  /** Requests per second over the measured window. */
  rps: number;
  /** Latency percentiles in milliseconds. */
  p50: number;
  p99: number;
  /** Completed requests. */
  requests: number;
  /** Responses that were not the expected success (non-2xx, or a gRPC status other than OK). */
  failures: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** Lowest and highest req/s of the rounds combined into this result. */
  range?: [number, number];
}

/** The percentile `p` (0..100) of sorted numbers. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Combines repeated runs of one target: median req/s, p50 and p99; summed counts. */
export function combineRounds(rounds: readonly LoadResult[]): LoadResult {
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const mid = s.length >> 1;
    return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  };
  return {
    rps: median(rounds.map((r) => r.rps)),
    range: [Math.min(...rounds.map((r) => r.rps)), Math.max(...rounds.map((r) => r.rps))],
    p50: median(rounds.map((r) => r.p50).filter(Number.isFinite)),
    p99: median(rounds.map((r) => r.p99).filter(Number.isFinite)),
    requests: rounds.reduce((n, r) => n + r.requests, 0),
    failures: rounds.reduce((n, r) => n + r.failures, 0),
    errors: rounds.reduce((n, r) => n + r.errors, 0),
  };
}
