// Gateways: the cluster's live gateways, their load and heartbeat (refreshed every 5 s).
import { useEffect } from "preact/hooks";
import { useConsole } from "../context.js";
import { when } from "../format.js";
import { Status, useLoad } from "../ui.js";

/** The gateways page. */
export function GatewaysPage() {
  const { api } = useConsole();
  const gws = useLoad(async () => (await api.gateways.listGateways({})).gateways, [api]);
  useEffect(() => {
    const t = setInterval(gws.reload, 5000);
    return () => clearInterval(t);
  }, [gws.reload]);
  const rows = gws.data ?? [];
  return (
    <section aria-labelledby="gw-h">
      <h2 id="gw-h">Gateways</h2>
      <Status loaded={gws} empty="No live gateways." isEmpty={rows.length === 0}>
        <div class="table-wrap">
          <table class="stack" id="gateways">
            <caption class="visually-hidden">Live gateways, refreshed every 5 seconds</caption>
            <thead>
              <tr>
                <th scope="col">Gateway</th>
                <th scope="col">Sessions (yours)</th>
                <th scope="col">Capacity</th>
                <th scope="col">State</th>
                <th scope="col">Started</th>
                <th scope="col">Heartbeat</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((g) => (
                <tr key={g.id}>
                  <td data-label="Gateway">
                    <code>{g.id}</code> {g.current && <span class="badge">this one</span>}
                    <div class="muted">{g.instance}</div>
                  </td>
                  <td data-label="Sessions">{g.sessions} ({g.organizationSessions})</td>
                  <td data-label="Capacity">{g.capacity || "unlimited"}</td>
                  <td data-label="State">{g.draining ? "draining" : "serving"}</td>
                  <td data-label="Started">{when(g.startedAt)}</td>
                  <td data-label="Heartbeat">{when(g.heartbeatAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Status>
    </section>
  );
}
