import type { DatabaseProbe } from "./database-probe.js";
import { type Endpoint, sendJson } from "./endpoints.js";

/**
 * `GET /healthz` (liveness: the process answers HTTP) and `GET /readyz`
 * (readiness: database reachable and every migration applied; 503 otherwise,
 * and once the gateway is shutting down).
 */
export function probeEndpoints(probe: DatabaseProbe, stopping: () => boolean = () => false): Map<string, Endpoint> {
  return new Map<string, Endpoint>([
    ["/healthz", (_req, res) => sendJson(res, 200, { status: "ok" })],
    [
      "/readyz",
      async (_req, res) => {
        const db = await probe.check();
        const ready = db.reachable && db.migrated && !stopping();
        sendJson(res, ready ? 200 : 503, {
          status: ready ? "ready" : "not_ready",
          database: db.reachable ? "reachable" : "unreachable",
          migrations: db.migrated ? "applied" : "pending",
          ...(stopping() && { shuttingDown: true }),
        });
      },
    ],
  ]);
}
