import { afterAll, describe, expect, it } from "vitest";
import { rssMiB, sleep } from "../../bench/process-stats.js";
import { backends } from "../support/backends.js";
import { type ChildGateway, startChildGateway } from "./support/child-gateway.js";
import { checkConsistency } from "./support/consistency.js";
import { runMixedLoad } from "./support/load-mix.js";
import { n, summary } from "./support/summary.js";

/**
 * The issue asks for 200 clients × 60 s; CI runs 64 × 15 s per backend to stay
 * within a few minutes. RELIABILITY_LOAD_CLIENTS=200 RELIABILITY_LOAD_SECONDS=60
 * runs the full size.
 */
const clients = Number(process.env.RELIABILITY_LOAD_CLIENTS ?? 64);
const seconds = Number(process.env.RELIABILITY_LOAD_SECONDS ?? 15);

describe.each(backends)("load on $name", (backend) => {
  let gw: ChildGateway;
  afterAll(() => gw?.close());

  it(`${clients} clients mixing every protocol for ${seconds} s: no errors, no 5xx, memory settles, every create stored`, { timeout: (seconds + 120) * 1000 }, async () => {
    gw = await startChildGateway(backend);
    const url = gw.proc.url;
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${url}/api/v1/sessions`, { method: "POST", headers: { authorization: `Bearer ${gw.keys.a}`, "content-type": "application/json" }, body: `{"label":"seed ${i}"}` });
      expect(res.status).toBe(201);
      ids.push(((await res.json()) as { id: string }).id);
    }
    const pid = gw.proc.child.pid;
    const rssStart = rssMiB(pid)!;
    // A short warm-up reaches the steady state (JIT, pools, caches); a leak shows as growth after it.
    const warm = await runMixedLoad(url, gw.keys.a, ids, clients, Math.min(5, seconds));
    await sleep(2_000);
    const rssWarm = rssMiB(pid)!;
    const main = await runMixedLoad(url, gw.keys.a, ids, clients, seconds);
    await sleep(2_000);
    const rssAfter = rssMiB(pid)!;

    const requests = warm.requests + main.requests;
    const errors = warm.errors + main.errors;
    const fivexx = warm.serverErrors + main.serverErrors;
    const created = [...warm.created, ...main.created];
    await gw.proc.stop("SIGTERM");
    const db = await gw.openDb();
    const c = await checkConsistency(db, gw.orgs.a, created).finally(() => db.destroy());
    const protocols = Object.entries(main.byProtocol).map(([k, v]) => `${k} ${n(v)}`).join(", ");
    summary(
      `load (${backend.name}): ${n(requests)} requests from ${clients} clients over ${Math.min(5, seconds) + seconds} s, ${errors} errors, ${fivexx} 5xx; ` +
        `${n(created.length)} creates all stored with their events; RSS ${rssStart.toFixed(0)} → ${rssWarm.toFixed(0)} (warm) → ${rssAfter.toFixed(0)} MiB [${protocols}]`,
    );
    expect({ errors, fivexx, samples: [...warm.samples, ...main.samples] }).toEqual({ errors: 0, fivexx: 0, samples: [] });
    expect(c).toMatchObject({ missing: [], withoutCreatedEvent: [], orphanEvents: [], incomplete: [] });
    expect(c.sessions).toBe(ids.length + created.length);
    // Steady state: after the warm-up, the main run may not keep what it allocated.
    expect(rssAfter).toBeLessThan(rssWarm * 1.3 + 30);
  });
});
