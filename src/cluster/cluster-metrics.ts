import { gauge, type Metric } from "../metrics/registry.js";
import type { Supervisor } from "../whatsapp/supervisor.js";

/** Scrape-time gauges of this gateway's sessions and, with PostgreSQL, of every live gateway. */
export function clusterGauges(engine: Supervisor): Metric[] {
  return [
    gauge("wagateway_local_sessions", "Sessions whose socket runs in this process.", () => [{ labels: {}, value: engine.localSessions().length }]),
    gauge("wagateway_cluster_gateway_sessions", "Sessions held by each live gateway (PostgreSQL).", async () => {
      const live = (await engine.registry()?.live()) ?? [];
      return live.map((g) => ({ labels: { gateway: g.name, instance: g.id }, value: g.held }));
    }),
    gauge("wagateway_cluster_heartbeat_age_seconds", "Seconds since each live gateway's last heartbeat (PostgreSQL).", async () => {
      const live = (await engine.registry()?.live()) ?? [];
      return live.map((g) => ({ labels: { gateway: g.name, instance: g.id }, value: Math.max(0, (Date.now() - g.heartbeatAt.getTime()) / 1000) }));
    }),
  ];
}
