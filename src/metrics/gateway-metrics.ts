import { type Kysely, sql } from "kysely";
import type { Database } from "../db/schema.js";
import type { EventHub } from "../events/event-hub.js";
import { type Endpoint } from "../health/endpoints.js";
import { gauge, type Metric, renderMetrics } from "./registry.js";

/** Scrape-time gauges of the gateway's state. */
export function gatewayGauges(db: Kysely<Database>, hub: EventHub, inFlight: () => number): Metric[] {
  return [
    gauge("wagateway_sessions", "Sessions by status (all organizations).", async () => {
      const rows = await sql<{ status: string; n: string | number }>`select status, count(*) as n from sessions group by status`.execute(db);
      return rows.rows.map((r) => ({ labels: { status: String(r.status) }, value: Number(r.n) }));
    }),
    gauge("wagateway_event_subscribers", "Live WatchEvents subscribers of this process.", () => [{ labels: {}, value: hub.size() }]),
    gauge("wagateway_rpc_in_flight", "RPCs (and open streams) in progress.", () => [{ labels: {}, value: inFlight() }]),
    gauge("process_resident_memory_bytes", "Resident memory size in bytes.", () => [{ labels: {}, value: process.memoryUsage().rss }]),
  ];
}

/** `GET /metrics`: Prometheus text exposition format 0.0.4. */
export function metricsEndpoint(metrics: readonly Metric[]): Map<string, Endpoint> {
  return new Map<string, Endpoint>([
    [
      "/metrics",
      async (_req, res) => {
        const text = await renderMetrics(metrics);
        res.statusCode = 200;
        res.setHeader("content-type", "text/plain; version=0.0.4; charset=utf-8");
        res.setHeader("cache-control", "no-store");
        res.end(text);
      },
    ],
  ]);
}
