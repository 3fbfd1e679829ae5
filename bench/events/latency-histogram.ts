/** A latency histogram with ~2 % wide log buckets, mergeable across processes. */
export interface Histogram {
  add(ms: number): void;
  merge(other: HistogramData): void;
  /** The value at percentile `p` (0–100), within a bucket's width. */
  percentile(p: number): number;
  count(): number;
  max(): number;
  toJSON(): HistogramData;
}

/** A histogram as sent between processes. */
export interface HistogramData {
  counts: number[];
  max: number;
}

const growth = Math.log(1.02);
const buckets = 1200; // up to ~20,000 s

/** Creates an empty {@link Histogram}. */
export function createHistogram(): Histogram {
  const counts = new Array<number>(buckets).fill(0);
  let max = 0;
  let n = 0;
  const index = (ms: number) => Math.min(buckets - 1, Math.max(0, Math.floor(Math.log1p(Math.max(0, ms)) / growth)));
  return {
    add(ms) {
      counts[index(ms)]!++;
      n++;
      if (ms > max) max = ms;
    },
    merge(other) {
      other.counts.forEach((c, i) => {
        counts[i]! += c;
        n += c;
      });
      if (other.max > max) max = other.max;
    },
    percentile(p) {
      if (n === 0) return NaN;
      const target = Math.ceil((p / 100) * n);
      let seen = 0;
      for (let i = 0; i < buckets; i++) {
        seen += counts[i]!;
        if (seen >= target) return Math.min(max, Math.expm1((i + 1) * growth));
      }
      return max;
    },
    count: () => n,
    max: () => max,
    toJSON: () => ({ counts: [...counts], max }),
  };
}
