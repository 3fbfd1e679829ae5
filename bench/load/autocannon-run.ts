import autocannon from "autocannon";
import type { LoadResult } from "./load-result.js";

/** An HTTP/1.1 request to repeat. */
export interface HttpRequestSpec {
  url: string;
  method: "GET" | "POST";
  headers: Record<string, string>;
  body?: string | Buffer;
}

/** Runs autocannon (HTTP/1.1, keep-alive, no pipelining) against `spec`. */
export async function runAutocannon(spec: HttpRequestSpec, connections: number, durationSec: number): Promise<LoadResult> {
  const r = await autocannon({
    url: spec.url,
    method: spec.method,
    headers: spec.headers,
    ...(spec.body !== undefined && { body: spec.body as string }),
    connections,
    pipelining: 1,
    duration: durationSec,
  });
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    failures: r.non2xx,
    errors: r.errors + r.timeouts,
  };
}
