import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startChild } from "../child-process.js";
import { createFreshDatabase } from "../postgres-db.js";
import { rssMiB, sleep } from "../process-stats.js";
import { startGateway } from "./gateway-start.js";
import { liveChildren } from "./timed-spawn.js";

/** Idle RSS of one gateway before and after it paired one session (MiB). */
export interface PairedRss {
  backend: "PGlite" | "PostgreSQL";
  before: number | undefined;
  after: number | undefined;
}

/**
 * One gateway per backend against the WhatsApp simulator (its own process, bench/messages/sim-process.ts), restarted
 * on its database: idle RSS after ready and the settle time, then one session paired by the simulated phone (QR),
 * and idle RSS again.
 */
export async function measurePairedRss(settleMs: number, say: (s: string) => void): Promise<PairedRss[]> {
  const sim = await startChild(["bench/messages/sim-process.ts"], {}, /(\{.*"control".*\})\n/, "stdout");
  liveChildren.add(sim.child);
  const out: PairedRss[] = [];
  try {
    const { url: simUrl, rootPublicKey, control } = JSON.parse(sim.match[1]!) as { url: string; rootPublicKey: string; control: string };
    const wa = { WA_WEBSOCKET_URL: simUrl, WA_ROOT_PUBLIC_KEY: rootPublicKey, WA_LOG_LEVEL: "error" };
    const dataDir = mkdtempSync(join(tmpdir(), "wagw-startup-paired-"));
    const db = await createFreshDatabase("wagw_startup_paired");
    try {
      for (const backend of ["PGlite", "PostgreSQL"] as const) {
        const env = backend === "PGlite" ? { ...wa, DATA_DIR: join(dataDir, "lite") } : { ...wa, DATA_DIR: join(dataDir, "pg"), DATABASE_URL: db.url };
        // A first start (which creates the database and prints the key), then the restart that is measured.
        const first = await startGateway(env, true);
        await first.stop();
        const gw = await startGateway(env);
        try {
          await sleep(settleMs);
          const before = rssMiB(gw.child.pid);
          await pairOne(gw.url, first.key!, control, backend === "PGlite" ? "18887770001" : "18887770002");
          await sleep(settleMs);
          const row = { backend, before, after: rssMiB(gw.child.pid) };
          say(`paired session on ${backend}: RSS ${row.before?.toFixed(0)} → ${row.after?.toFixed(0)} MiB`);
          out.push(row);
        } finally {
          await gw.stop();
        }
      }
    } finally {
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  } finally {
    sim.child.kill("SIGTERM");
    liveChildren.delete(sim.child);
  }
  return out;
}

/** Creates a started session through REST, has the simulated phone scan its QR and waits for `working`. */
async function pairOne(url: string, key: string, control: string, phone: string): Promise<void> {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  const { id } = (await call("POST", "/api/v1/sessions", { label: "startup bench", start: true })) as { id: string };
  const waitFor = async (status: string) => {
    for (let deadline = Date.now() + 120_000; ; await sleep(100)) {
      const s = await call("GET", `/api/v1/sessions/${id}`);
      if (s.status === status) return;
      if (Date.now() > deadline) throw new Error(`session ${id} stuck in ${String(s.status)}`);
    }
  };
  await waitFor("scan_qr_code");
  const { qr } = (await call("GET", `/api/v1/sessions/${id}/qr`)) as { qr: string };
  const scan = await fetch(`${control}/scan`, { method: "POST", body: JSON.stringify({ qr, phoneNumber: phone }) });
  if (!scan.ok) throw new Error(`scan: ${await scan.text()}`);
  await waitFor("working");
}
