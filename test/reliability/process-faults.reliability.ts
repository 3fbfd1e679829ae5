import { afterAll, describe, expect, it } from "vitest";
import { SessionService } from "../../gen/wagateway/v1/session_service_pb.js";
import { sleep } from "../../bench/process-stats.js";
import { backends } from "../support/backends.js";
import { clientFor, transportCases } from "../support/transports.js";
import { type ChildGateway, startChildGateway } from "./support/child-gateway.js";
import { checkConsistency } from "./support/consistency.js";
import { n, summary } from "./support/summary.js";

/**
 * SIGKILL the gateway while 16 clients create sessions (REST, Connect, gRPC),
 * start it again on the same database: every acknowledged create is there,
 * with its event, and nothing is half-written.
 */
describe.each(backends)("process faults on $name", (backend) => {
  let gw: ChildGateway;
  afterAll(() => gw?.close());

  it("keeps every acknowledged create across a SIGKILL mid-write", { timeout: 120_000 }, async () => {
    gw = await startChildGateway(backend);
    const url = gw.proc.url;
    const grpc = clientFor(SessionService, transportCases[0]!, url, gw.keys.a);
    const connect = clientFor(SessionService, transportCases[2]!, url, gw.keys.a);
    const acknowledged: string[] = [];
    let failed = 0;
    let stop = false;
    const create = async (i: number): Promise<string | undefined> => {
      if (i % 3 === 0) return (await grpc.createSession({ label: `kill ${i}` })).session?.id;
      if (i % 3 === 1) return (await connect.createSession({ label: `kill ${i}` })).session?.id;
      const res = await fetch(`${url}/api/v1/sessions`, { method: "POST", headers: { authorization: `Bearer ${gw.keys.a}`, "content-type": "application/json" }, body: `{"label":"kill ${i}"}` });
      if (res.status !== 201) throw new Error(`HTTP ${res.status}`);
      return ((await res.json()) as { id: string }).id;
    };
    const workers = Array.from({ length: 16 }, async (_, i) => {
      while (!stop) {
        try {
          const id = await create(i);
          if (id) acknowledged.push(id);
        } catch {
          failed++; // the process is gone: these were never acknowledged
          await sleep(10);
        }
      }
    });
    await sleep(2_500);
    const before = acknowledged.length;
    gw.proc.child.kill("SIGKILL");
    await new Promise((r) => gw.proc.child.once("exit", r));
    stop = true;
    await Promise.all(workers);
    expect(before).toBeGreaterThan(0);

    // Restart on the same database; it must come up and answer with every acknowledged row.
    await gw.restart();
    const listed = await clientFor(SessionService, transportCases[0]!, gw.proc.url, gw.keys.a).listSessions({});
    const listedIds = new Set(listed.sessions.map((s) => s.id));
    const lost = acknowledged.filter((id) => !listedIds.has(id));
    await gw.proc.stop("SIGTERM");
    const db = await gw.openDb();
    const c = await checkConsistency(db, gw.orgs.a, acknowledged).finally(() => db.destroy());
    summary(
      `process faults (${backend.name}): SIGKILL after ${n(acknowledged.length)} acknowledged creates (${failed} in flight failed); ` +
        `after restart ${lost.length} lost, ${c.sessions} rows all whole with one event each`,
    );
    expect(lost).toEqual([]);
    expect(c).toMatchObject({ missing: [], withoutCreatedEvent: [], orphanEvents: [], incomplete: [] });
  });
});
