/**
 * `npm run bench`: the gateway against a bare node:http + pg baseline and an
 * Express + pg peer, in one run, on PostgreSQL (a fresh database, dropped at
 * the end) and on PGlite. Writes docs/BENCHMARKS.md. Settings:
 * BENCH_DURATION (s per round, default 2), BENCH_ROUNDS (default 3 on
 * PostgreSQL; PGlite gets 2 fewer rounds, 1 s longer), BENCH_CONNECTIONS
 * (default 64), BENCH_PROFILE_SECONDS (CPU profile of REST GetSession, default
 * 6; 0 skips it). The start-up section comes from bench/startup (its settings:
 * STARTUP_BENCH_*, see startup-bench.ts); `npm run bench:startup` rewrites it alone.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../test/support/gateway-process.js";
import { prepareFixture, seedFixture, startGatewayTimed } from "./gateway-target.js";
import { runStartupBench } from "./startup/startup-bench.js";
import { runAutocannon } from "./load/autocannon-run.js";
import { h2loadInstallHint, h2loadVersion, runH2load } from "./load/h2load-run.js";
import { combineRounds, type LoadResult } from "./load/load-result.js";
import { describeMachine } from "./machine.js";
import { spawnPeer } from "./peers/peer-process.js";
import { createFreshDatabase, ensurePostgres } from "./postgres-db.js";
import { rssMiB, sleep } from "./process-stats.js";
import { renderReport, targets } from "./report.js";
import type { BenchResults, LoadRow, Target } from "./results.js";
import { profileGateway } from "./profile-run.js";
import { checkGateway, checkSameAnswers } from "./sanity.js";
import { type Fixture, grpcRequest, httpProtocols, httpRequest, restRequest, rpcs } from "./scenarios.js";

const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
const durationSec = Number(process.env.BENCH_DURATION ?? 2);
const pgRounds = Number(process.env.BENCH_ROUNDS ?? 3);
const liteRounds = Math.max(1, pgRounds - 2);
const liteDurationSec = durationSec + 1;
const profileSec = Number(process.env.BENCH_PROFILE_SECONDS ?? 6);
const h2Streams = 8;
const h2Clients = Math.max(1, Math.round(connections / h2Streams));
const hasH2load = h2loadVersion() !== undefined;

const say = (s: string) => process.stderr.write(`bench: ${s}\n`);
const fmt = (r: LoadResult) => `${Math.round(r.rps)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, non-OK ${r.failures}, errors ${r.errors}`;

/** Runs every target for every call on one backend (peers only on PostgreSQL), in interleaved rounds. */
async function measureAll(backend: LoadRow["backend"], rounds: number, seconds: number, gatewayUrl: string, peers: { target: Target; url: string }[], f: Fixture, out: LoadRow[]): Promise<void> {
  for (const rpc of rpcs) {
    const runners: { target: Target; run: (sec: number, warmUp: boolean) => Promise<LoadResult> }[] = [];
    for (const p of peers) runners.push({ target: p.target, run: (sec) => runAutocannon(restRequest(p.url, rpc, f), connections, sec) });
    for (const protocol of httpProtocols) {
      runners.push({ target: `gateway ${protocol}` as Target, run: (sec) => runAutocannon(httpRequest(gatewayUrl, protocol, rpc, f), connections, sec) });
    }
    if (hasH2load) {
      runners.push({ target: "gateway gRPC (h2load)", run: (sec, warmUp) => runH2load(grpcRequest(gatewayUrl, rpc, f), h2Clients, h2Streams, sec, warmUp ? 1 : 0) });
    }
    // A 1 s warm-up each (JIT, pools, key cache), then rounds that visit every
    // target in turn, so background load on a shared machine hits all alike.
    const results = new Map<Target, LoadResult[]>(runners.map((r) => [r.target, []]));
    for (const r of runners) if (!r.target.includes("gRPC")) await r.run(1, false);
    for (let round = 0; round < rounds; round++) {
      for (const r of runners) results.get(r.target)!.push(await r.run(seconds, round === 0));
    }
    for (const r of runners) {
      const result = combineRounds(results.get(r.target)!);
      out.push({ backend, rpc, target: r.target, result });
      say(`${backend} ${rpc} ${r.target}: ${fmt(result)}`);
    }
    if (!hasH2load) out.push({ backend, rpc, target: "gateway gRPC (h2load)", result: undefined, skipped: "h2load not installed" });
  }
}

async function benchPostgres(res: BenchResults): Promise<void> {
  await ensurePostgres();
  const db = await createFreshDatabase("wagw_bench");
  const dataDir = mkdtempSync(join(tmpdir(), "wagw-bench-pg-"));
  const env = { DATABASE_URL: db.url, DATA_DIR: dataDir };
  say(`PostgreSQL database ${db.name}`);
  try {
    // A first start creates the database as users get it (its timing is the start-up section's).
    const cold = await startGatewayTimed(env);
    await cold.gw.stop();
    const keys = await prepareFixture(env);
    const warm = await startGatewayTimed(env);
    const bare = await spawnPeer("bare-server.ts", db.url);
    const express = await spawnPeer("express-server.ts", db.url);
    let f: Fixture | undefined;
    try {
      f = await seedFixture(warm.gw.url, keys);
      await sleep(1_000);
      res.rss.push({ label: "bare node:http + pg, idle", mib: rssMiB(bare.child.pid) });
      res.rss.push({ label: "Express 5 + pg, idle", mib: rssMiB(express.child.pid) });
      res.rss.push({ label: "gateway on PostgreSQL, idle after start", mib: warm.idleRss });
      await checkSameAnswers(warm.gw.url, [bare.url, express.url], f);
      await measureAll("PostgreSQL", pgRounds, durationSec, warm.gw.url, [{ target: "bare node:http + pg", url: bare.url }, { target: "Express 5 + pg", url: express.url }], f, res.load);
      await sleep(3_000);
      res.rss.push({ label: "gateway on PostgreSQL, idle 3 s after the load", mib: rssMiB(warm.gw.child.pid) });
      res.rss.push({ label: "bare node:http + pg, idle 3 s after the load", mib: rssMiB(bare.child.pid) });
      res.rss.push({ label: "Express 5 + pg, idle 3 s after the load", mib: rssMiB(express.child.pid) });
      const errors = warm.gw.stderr().split("\n").filter((l) => l.includes('"level":"error"'));
      if (errors.length > 0) res.notes.push(`The gateway logged ${errors.length} error lines during the PostgreSQL runs; first: \`${errors[0]!.slice(0, 200)}\``);
    } finally {
      await Promise.all([bare.stop(), express.stop(), warm.gw.stop()]);
    }
    if (profileSec > 0) {
      const p = await profileGateway(env, f, "REST", "GetSession", profileSec);
      res.profiles.push(p);
      say(`profile ${p.what}: ${p.categories.slice(0, 4).map(([k, v]) => `${k} ${(100 * v).toFixed(0)}%`).join(", ")}`);
    }
  } finally {
    await db.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function benchPglite(res: BenchResults): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "wagw-bench-lite-"));
  const env = { DATA_DIR: dataDir };
  try {
    // A first start creates the database as users get it (its timing is the start-up section's).
    const cold = await startGatewayTimed(env);
    await cold.gw.stop();
    const keys = await prepareFixture(env);
    const warm = await startGatewayTimed(env);
    try {
      const f = await seedFixture(warm.gw.url, keys);
      await checkGateway(warm.gw.url, f, hasH2load);
      await measureAll("PGlite", liteRounds, liteDurationSec, warm.gw.url, [], f, res.load);
      await sleep(3_000);
      res.rss.push({ label: "gateway on PGlite, idle after start", mib: warm.idleRss });
      res.rss.push({ label: "gateway on PGlite, idle 3 s after the load", mib: rssMiB(warm.gw.child.pid) });
    } finally {
      await warm.gw.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const loadBefore = loadavg();
  if (!hasH2load) say(`h2load not found: gRPC figures are skipped. Install it with:\n    ${h2loadInstallHint}`);
  const res: BenchResults = {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    command: "npm run bench",
    machine: await describeMachine(),
    settings: { connections, durationSec, rounds: pgRounds, liteRounds, liteDurationSec, h2Clients, h2Streams, profileSec },
    load: [],
    startup: undefined,
    rss: [],
    profiles: [],
    notes: [],
  };
  await benchPostgres(res);
  await benchPglite(res);
  res.startup = await runStartupBench((s) => say(`startup: ${s}`));
  res.notes.push(...methodNotes());
  if (!hasH2load) res.notes.push(`h2load was not installed, so there are no gRPC figures (\`${h2loadInstallHint}\`).`);
  res.notes.push(`Machine load average (1 min) ${loadBefore[0]!.toFixed(1)} at the start and ${loadavg()[0]!.toFixed(1)} at the end of the run on ${cpus().length} cores: other work on a shared machine lowers every row, which is why the rounds are interleaved and the ratios are the figures to read.`);
  res.notes.push(`The whole run took ${Math.round((Date.now() - started) / 1000)} s.`);
  writeFileSync(join(repoRoot, "docs/BENCHMARKS.md"), renderReport(res));
  for (const t of targets(res)) say(`target ${t.what} ${t.goal}: ${t.value === undefined ? "not measured" : `${t.fmt(t.value)} ${t.ok(t.value) ? "met" : "MISSED"}`}`);
  say(`wrote docs/BENCHMARKS.md in ${Math.round((Date.now() - started) / 1000)} s`);
}

function methodNotes(): string[] {
  return [
    "Everything runs on loopback on one machine: the load generator, the servers and PostgreSQL share the cores, equally for every row.",
    "The gateway runs as `npm start` does (`node dist/src/main.js`, `LOG_LEVEL=info`), one process, default pool of 10 PostgreSQL connections. The peers run through tsx (`node --import tsx`, one process, `pg.Pool` of 10).",
    "Auth is a real API key made with the project's CLI (`apikey create`). The gateway hashes the bearer (SHA-256) and trusts a verified hash for `API_KEY_CACHE_TTL_MS` (10 s) from an in-process map. The bare and Express peers do exactly that too (bench/peers/key-cache.ts: same header parse, same hash, same map with a 10 s TTL, same `api_keys` query on a miss), so none of the three pays a database round-trip per request for auth, and the comparison is about the serving stack only.",
    "GetSession is the primary-key read scoped by organization; ListSessions reads the organization's 50 sessions through `sessions_org_idx`; both peers send the gateway's exact SQL and return the gateway's REST JSON, checked byte-for-byte equal (as parsed JSON) before measuring.",
    "CreateSession in the peers runs the gateway's statements in one transaction: the event-log advisory lock, ensure organization, insert the session, insert its `session.created` event, `pg_notify`. Creates are serialized by that lock in all three, so CreateSession mostly measures PostgreSQL commits.",
    "REST and Connect are measured over HTTP/1.1 (autocannon, keep-alive); gRPC over h2c with h2load sending a length-prefixed protobuf body with `content-type: application/grpc`. The ratios of Connect and gRPC are against the bare baseline's REST figure for the same call.",
  ];
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
