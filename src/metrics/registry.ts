/** Label values of one series, by label name. */
export type Labels = Record<string, string>;

/** A Prometheus metric that renders itself in the text exposition format. */
export interface Metric {
  render(): Promise<string> | string;
}

const escape = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const labelText = (labels: Labels) => {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
};
const head = (name: string, help: string, type: string) => `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;

/** A monotonically increasing counter per label set. */
export function counter(name: string, help: string) {
  const series = new Map<string, { labels: Labels; value: number }>();
  return {
    inc(labels: Labels, by = 1) {
      const key = JSON.stringify(labels);
      const s = series.get(key) ?? { labels, value: 0 };
      s.value += by;
      series.set(key, s);
    },
    render: () => head(name, help, "counter") + [...series.values()].map((s) => `${name}${labelText(s.labels)} ${s.value}\n`).join(""),
  };
}

/** A histogram per label set, with cumulative `le` buckets (seconds). */
export function histogram(name: string, help: string, buckets: readonly number[]) {
  const series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  return {
    observe(labels: Labels, value: number) {
      const key = JSON.stringify(labels);
      const s = series.get(key) ?? { labels, counts: buckets.map(() => 0), sum: 0, count: 0 };
      buckets.forEach((b, i) => {
        if (value <= b) s.counts[i]!++;
      });
      s.sum += value;
      s.count++;
      series.set(key, s);
    },
    render() {
      let text = head(name, help, "histogram");
      for (const s of series.values()) {
        buckets.forEach((b, i) => (text += `${name}_bucket${labelText({ ...s.labels, le: String(b) })} ${s.counts[i]}\n`));
        text += `${name}_bucket${labelText({ ...s.labels, le: "+Inf" })} ${s.count}\n`;
        text += `${name}_sum${labelText(s.labels)} ${s.sum}\n${name}_count${labelText(s.labels)} ${s.count}\n`;
      }
      return text;
    },
  };
}

/** A gauge read when scraped: `collect` returns the current series. */
export function gauge(name: string, help: string, collect: () => Promise<{ labels: Labels; value: number }[]> | { labels: Labels; value: number }[]): Metric {
  return {
    async render() {
      const rows = await collect();
      return head(name, help, "gauge") + rows.map((r) => `${name}${labelText(r.labels)} ${r.value}\n`).join("");
    },
  };
}

/** Renders `metrics` as one exposition document (a failing gauge is left out). */
export async function renderMetrics(metrics: readonly Metric[]): Promise<string> {
  const parts = await Promise.all(metrics.map(async (m) => {
    try {
      return await m.render();
    } catch {
      return "";
    }
  }));
  return parts.join("");
}
