import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { refreshSubBenchSection } from "../sub-bench-section.js";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { SessionService } from "../../gen/wagateway/v1/session_service_pb.js";
import { createApiKeyRepository } from "../../src/api-keys/api-key-repository.js";
import { loadConfig } from "../../src/config.js";
import type { NewEvent } from "../../src/events/event-types.js";
import { startGateway } from "../../src/gateway.js";
import { createLogger } from "../../src/logger.js";
import { createFreshDatabase, ensurePostgres } from "../postgres-db.js";
import { sleep } from "../process-stats.js";

/**
 * Event fan-out bench (`npm run bench:events`): one gateway process, S
 * WatchEvents subscribers over gRPC (HTTP/2, 100 streams per connection);
 * events appended through the event log at a steady rate; latency = receipt
 * time − append time (same clock), per delivered event. Also the sustained
 * append rate with S subscribers. Writes docs/benchmarks/events.md.
 */
const subscriberCounts = (process.env.EVENTS_BENCH_SUBSCRIBERS ?? "1,100,1000").split(",").map(Number);
const ratePerSec = Number(process.env.EVENTS_BENCH_RATE ?? 200);
const seconds = Number(process.env.EVENTS_BENCH_SECONDS ?? 10);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function run(backend: "pglite" | "postgres", subscribers: number) {
  const dataDir = mkdtempSync(join(tmpdir(), "wagw-evbench-"));
  const db = backend === "postgres" ? await createFreshDatabase("wagw_events_bench") : undefined;
  const config = loadConfig({ PORT: "0", DATA_DIR: dataDir, LOG_LEVEL: "error", ...(db ? { DATABASE_URL: db.url } : {}), EVENTS_SUBSCRIBER_BUFFER: "100000" });
  const gw = await startGateway(config, createLogger("error"));
  const org = "org_bench";
  const key = (await createApiKeyRepository(gw.db).create({ organizationId: org, name: "bench", permissions: ["read"] })).secret;
  const transports = Array.from({ length: Math.ceil(subscribers / 100) }, () =>
    createGrpcTransport({ baseUrl: gw.url, interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${key}`), next(req))] }),
  );
  const latencies: number[] = [];
  let received = 0;
  const ac = new AbortController();
  const ready: Promise<void>[] = [];
  for (let i = 0; i < subscribers; i++) {
    const client = createClient(SessionService, transports[Math.floor(i / 100)]!);
    let markReady!: () => void;
    ready.push(new Promise((r) => (markReady = r)));
    void (async () => {
      try {
        for await (const res of client.watchEvents({}, { signal: ac.signal })) {
          markReady();
          if (res.payload.case !== "event") continue;
          const sentAt = Number((res.payload.value.data as { t?: number }).t);
          latencies.push(performance.timeOrigin + performance.now() - sentAt);
          received++;
        }
      } catch {
        /* aborted at the end */
      }
    })();
  }
  await Promise.all(ready);

  // Steady appends: ratePerSec events/s in batches every 10 ms.
  const perTick = Math.max(1, Math.round(ratePerSec / 100));
  let appended = 0;
  const t0 = Date.now();
  while (Date.now() - t0 < seconds * 1000) {
    const t = performance.timeOrigin + performance.now();
    const events: NewEvent[] = Array.from({ length: perTick }, () => ({ organizationId: org, sessionId: "01ARZ3NDEKTSV4RRFFQ69G5FAV", type: "connection.connecting", data: { t } }));
    await gw.events.log.transact(async () => ({ result: undefined, events }));
    appended += perTick;
    await sleep(10);
  }
  const appendSeconds = (Date.now() - t0) / 1000;
  const expected = appended * subscribers;
  const deadline = Date.now() + 30_000;
  while (received < expected && Date.now() < deadline) await sleep(50);
  ac.abort();
  await gw.stop();
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  return {
    backend,
    subscribers,
    appended,
    appendRate: appended / appendSeconds,
    delivered: received,
    expected,
    p50: pct(latencies, 50),
    p99: pct(latencies, 99),
    max: latencies[latencies.length - 1] ?? NaN,
  };
}

/** Highest append rate (events/s) with `subscribers` subscribers: appends as fast as possible for a few seconds. */
async function maxRate(subscribers: number) {
  const dataDir = mkdtempSync(join(tmpdir(), "wagw-evbench-"));
  const db = await createFreshDatabase("wagw_events_bench_max");
  const gw = await startGateway(loadConfig({ PORT: "0", DATA_DIR: dataDir, LOG_LEVEL: "error", DATABASE_URL: db.url, EVENTS_SUBSCRIBER_BUFFER: "1000000" }), createLogger("error"));
  const key = (await createApiKeyRepository(gw.db).create({ organizationId: "org_bench", name: "bench", permissions: ["read"] })).secret;
  const client = createClient(SessionService, createGrpcTransport({ baseUrl: gw.url, interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${key}`), next(req))] }));
  const ac = new AbortController();
  let received = 0;
  const ready: Promise<void>[] = [];
  for (let i = 0; i < subscribers; i++) {
    let markReady!: () => void;
    ready.push(new Promise((r) => (markReady = r)));
    void (async () => {
      try {
        for await (const res of client.watchEvents({}, { signal: ac.signal })) {
          markReady();
          if (res.payload.case === "event") received++;
        }
      } catch {
        /* aborted */
      }
    })();
  }
  await Promise.all(ready);
  const events: NewEvent[] = Array.from({ length: 10 }, () => ({ organizationId: "org_bench", sessionId: "01ARZ3NDEKTSV4RRFFQ69G5FAV", type: "connection.open", data: {} }));
  let appended = 0;
  const t0 = Date.now();
  // Four concurrent appenders, 10 events per transaction.
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (Date.now() - t0 < 5_000) {
      await gw.events.log.transact(async () => ({ result: undefined, events }));
      appended += 10;
    }
  }));
  const secs = (Date.now() - t0) / 1000;
  const deadline = Date.now() + 30_000;
  while (received < appended * subscribers && Date.now() < deadline) await sleep(50);
  const deliveredSecs = (Date.now() - t0) / 1000;
  ac.abort();
  await gw.stop();
  await db.drop();
  rmSync(dataDir, { recursive: true, force: true });
  return { appendRate: appended / secs, deliveredRate: received / deliveredSecs, complete: received === appended * subscribers };
}

await ensurePostgres();
const rows = [];
for (const backend of ["postgres", "pglite"] as const) {
  for (const s of subscriberCounts) {
    process.stderr.write(`events bench: ${backend}, ${s} subscribers…\n`);
    const r = await run(backend, s);
    process.stderr.write(`  ${JSON.stringify(r)}\n`);
    rows.push(r);
  }
}
process.stderr.write("events bench: sustained append rate…\n");
const sustained = await maxRate(10);
const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "–");
const md = `# Event stream benchmark: fan-out latency and sustained rate

Measured ${new Date().toISOString().slice(0, 10)} on ${cpus()[0]?.model ?? "?"} × ${cpus().length} cores, ${(totalmem() / 1024 ** 3).toFixed(1)} GiB, Node.js ${process.version}.
Command: \`npm run bench:events\` (${ratePerSec} events/s for ${seconds} s per row).

One gateway process; S WatchEvents subscribers over gRPC (HTTP/2, 100 streams per connection) in the
same process as the appender; each event carries its append time; latency = receipt − append, over every
delivered copy. Appends go through the event log (ordered-append lock, transaction, NOTIFY on PostgreSQL),
so the figures include the database round-trip and the hub's read of the log.

| backend | subscribers | appended | append rate (ev/s) | delivered / expected | p50 (ms) | p99 (ms) | max (ms) |
|---|---:|---:|---:|---:|---:|---:|---:|
${rows.map((r) => `| ${r.backend} | ${r.subscribers} | ${r.appended} | ${f(r.appendRate)} | ${r.delivered} / ${r.expected} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.max)} |`).join("\n")}

Sustained (PostgreSQL, 4 appenders, 10 events per transaction, 10 subscribers): ${f(sustained.appendRate, 0)} events/s appended,
${f(sustained.deliveredRate, 0)} event copies/s delivered, all delivered: ${sustained.complete}.

Aim (issue 4): p99 under 50 ms at 1,000 subscribers on this 2-core machine.
`;
mkdirSync(new URL("../../docs/benchmarks", import.meta.url), { recursive: true });
writeFileSync(new URL("../../docs/benchmarks/events.md", import.meta.url), md);
refreshSubBenchSection();
process.stdout.write(md);
