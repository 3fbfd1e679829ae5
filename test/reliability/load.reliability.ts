import { afterAll, describe, expect, it } from "vitest";
import { rssMiB, sleep } from "../../bench/process-stats.js";
import { backends } from "../support/backends.js";
import { type ChildGateway, startChildGateway } from "./support/child-gateway.js";
import { checkConsistency } from "./support/consistency.js";
import { heapProbeEnv, openHeapProbe } from "./support/heap-probe.js";
import { runMixedLoad } from "./support/load-mix.js";
import { n, summary } from "./support/summary.js";

/**
 * The size: 200 concurrent clients for 60 s (plus a 5 s warm-up) per
 * backend. RELIABILITY_LOAD_CLIENTS / RELIABILITY_LOAD_SECONDS change it for
 * a quick local run.
 */
const clients = Number(process.env.RELIABILITY_LOAD_CLIENTS ?? 200);
const seconds = Number(process.env.RELIABILITY_LOAD_SECONDS ?? 60);

describe.each(backends)("load on $name", (backend) => {
  let gw: ChildGateway;
  afterAll(() => gw?.close());

  it(`${clients} clients mixing every protocol for ${seconds} s: no errors, no 5xx, memory settles, every create stored`, { timeout: (seconds + 120) * 1000 }, async () => {
    gw = await startChildGateway(backend, heapProbeEnv);
    const heap = await openHeapProbe(gw.proc.stderr);
    const url = gw.proc.url;
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${url}/api/v1/sessions`, { method: "POST", headers: { authorization: `Bearer ${gw.keys.a}`, "content-type": "application/json" }, body: `{"label":"seed ${i}"}` });
      expect(res.status).toBe(201);
      ids.push(((await res.json()) as { id: string }).id);
    }
    // Memory: the live heap after a full collection (what the process keeps) and RSS (reported only:
    // V8 and malloc rarely give pages back, so RSS stays near its peak without anything being kept).
    const pid = gw.proc.child.pid;
    const measure = async () => ({ heap: await heap.usedAfterGcMiB(), rss: rssMiB(pid)! });
    const start = await measure();
    // A short warm-up reaches the steady state (JIT, pools, caches); a leak shows as growth after it.
    const keys = { read: gw.keys.a, write: gw.keys.b };
    const warm = await runMixedLoad(url, keys, ids, clients, Math.min(5, seconds));
    await sleep(2_000);
    const warmed = await measure();
    const main = await runMixedLoad(url, keys, ids, clients, seconds);
    await sleep(2_000);
    const after = await measure();
    heap.close();

    const requests = warm.requests + main.requests;
    const errors = warm.errors + main.errors;
    const fivexx = warm.serverErrors + main.serverErrors;
    const created = [...warm.created, ...main.created];
    await gw.proc.stop("SIGTERM");
    const db = await gw.openDb();
    const [c, reads] = await Promise.all([checkConsistency(db, gw.orgs.b, created), checkConsistency(db, gw.orgs.a, ids)]).finally(() => db.destroy());
    const protocols = Object.entries(main.byProtocol).map(([k, v]) => `${k} ${n(v)}`).join(", ");
    summary(
      `load (${backend.name}): ${n(requests)} requests from ${clients} clients over ${Math.min(5, seconds) + seconds} s, ${errors} errors, ${fivexx} 5xx; ` +
        `${n(created.length)} creates all stored with their events; heap after GC ${start.heap.toFixed(1)} → ${warmed.heap.toFixed(1)} (warm) → ${after.heap.toFixed(1)} MiB, ` +
        `RSS ${start.rss.toFixed(0)} → ${warmed.rss.toFixed(0)} → ${after.rss.toFixed(0)} MiB [${protocols}]`,
    );
    expect({ errors, fivexx, samples: [...warm.samples, ...main.samples] }).toEqual({ errors: 0, fivexx: 0, samples: [] });
    expect(c).toMatchObject({ missing: [], withoutCreatedEvent: [], orphanEvents: [], incomplete: [] });
    expect(c.sessions).toBe(created.length);
    expect(reads).toMatchObject({ sessions: ids.length, missing: [], withoutCreatedEvent: [], orphanEvents: [], incomplete: [] });
    // Back near the start: the main run keeps nothing of what it allocated (beyond the warm-up's pools and caches).
    expect(after.heap).toBeLessThan(warmed.heap * 1.1 + 4);
    expect(after.heap).toBeLessThan(start.heap * 1.25 + 8);
  });
});
