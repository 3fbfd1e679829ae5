import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { type Kysely, sql } from "kysely";
import pg from "pg";
import type { Database } from "../db/schema.js";
import type { Logger } from "../logger.js";
import { liveCondition, livenessLockSpace } from "./live-gateways.js";

/** Channel on which gateways ask each other to reconcile now (hand-over, new session to place). */
export const clusterChannel = "wagateway_cluster";

/** A live gateway as the registry sees it. */
export interface GatewayInfo {
  /** Incarnation id (changes when the process restarts or rejoins after a lapse). */
  id: string;
  /** `GATEWAY_ID`. */
  name: string;
  address: string | null;
  capacity: number;
  draining: boolean;
  startedAt: Date;
  heartbeatAt: Date;
  /** Sessions it holds. */
  held: number;
}

/** This process's membership among the gateways sharing the database. */
export interface GatewayRegistry {
  /** The current incarnation id; leases are taken in its name. */
  id(): string;
  readonly name: string;
  /** True while the heartbeat is current (leases taken now are safe to use). */
  healthy(): boolean;
  /** Live gateways and the sessions each holds. */
  live(): Promise<GatewayInfo[]>;
  /** Marks this gateway draining: placement gives it nothing more. */
  drain(): Promise<void>;
  /**
   * Called when this gateway may have lost every lease: the heartbeat
   * lapsed (paused process, database unreachable) or the lock connection
   * dropped. Every socket must close without writing; the registry rejoins
   * under a new incarnation id.
   */
  onLapse(cb: () => void): void;
  /** Called when another gateway asks for a reconciliation now. */
  onNudge(cb: () => void): void;
  /** Asks every gateway to reconcile now. */
  nudge(): Promise<void>;
  /** Leaves: deletes the row and releases the lock. */
  close(): Promise<void>;
}

/** Options of {@link joinCluster}. */
export interface RegistryOptions {
  databaseUrl: string;
  /** Pool for reads (the live-gateway list); the registry's own connection is kept for heartbeats. */
  db: Kysely<Database>;
  name: string;
  address: string | null;
  capacity: number;
  leaseTtlMs: number;
  log: Logger;
}

/**
 * Joins the cluster: inserts this incarnation's row, takes its liveness lock
 * on a dedicated connection, renews the heartbeat every third of the lease
 * TTL and watches for a lapse. Renewal traffic: one UPDATE per
 * `leaseTtlMs / 3`, whatever the number of sessions.
 */
export async function joinCluster(opts: RegistryOptions): Promise<GatewayRegistry> {
  const { log, leaseTtlMs } = opts;
  const lapseCbs: (() => void)[] = [];
  const nudgeCbs: (() => void)[] = [];
  let client: pg.Client | undefined;
  let id = "";
  let validUntil = 0;
  let draining = false;
  let closed = false;
  let rejoining: Promise<void> | undefined;

  const register = async () => {
    const c = new pg.Client({
      connectionString: opts.databaseUrl,
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
      application_name: `wa-gateway/${opts.name}`,
    });
    c.on("error", () => {});
    await c.connect();
    try {
      const newId = `${opts.name}~${randomBytes(4).toString("hex")}`;
      const started = performance.now();
      await c.query("delete from gateways where expires_at < now() - interval '1 hour'");
      const { rows } = await c.query<{ lock_no: number }>(
        `insert into gateways (id, name, address, capacity, draining, expires_at)
         values ($1, $2, $3, $4, $5, now() + $6 * interval '1 millisecond') returning lock_no`,
        [newId, opts.name, opts.address, opts.capacity, draining, leaseTtlMs],
      );
      await c.query("select pg_advisory_lock($1, $2)", [livenessLockSpace, rows[0]!.lock_no]);
      await c.query(`listen ${clusterChannel}`);
      c.on("notification", (n) => {
        if (n.channel === clusterChannel) for (const cb of nudgeCbs) cb();
      });
      c.on("end", () => {
        if (client === c && !closed) lapse("lock connection lost");
      });
      client = c;
      id = newId;
      validUntil = started + leaseTtlMs;
      log.info({ incarnation: id, leaseTtlMs }, "joined the gateway cluster");
    } catch (err) {
      await c.end().catch(() => {});
      throw err;
    }
  };

  /** Every lease may be gone: tell the owner, drop the connection (and the lock), rejoin. */
  const lapse = (why: string) => {
    if (closed || rejoining) return;
    log.warn({ why, incarnation: id }, "gateway lease lapsed: closing every session here and rejoining");
    validUntil = 0;
    const old = client;
    client = undefined;
    for (const cb of lapseCbs) cb();
    rejoining = (async () => {
      await old?.end().catch(() => {});
      while (!closed) {
        try {
          await register();
          return;
        } catch (err) {
          log.warn({ err }, "could not rejoin the gateway cluster; retrying");
          await new Promise((r) => setTimeout(r, 1_000));
        }
      }
    })().finally(() => {
      rejoining = undefined;
      for (const cb of nudgeCbs) cb();
    });
  };

  const renew = async () => {
    const c = client;
    if (!c || closed) return;
    // Checked first: after a pause, the lapse must be seen before any renewal succeeds.
    if (performance.now() > validUntil) return lapse("heartbeat overdue");
    const started = performance.now();
    try {
      const res = await c.query(
        `update gateways set heartbeat_at = now(), expires_at = now() + $2 * interval '1 millisecond', draining = $3
         where id = $1 and expires_at > now()`,
        [id, leaseTtlMs, draining],
      );
      if (client !== c) return;
      if (res.rowCount === 0) return lapse("heartbeat row expired");
      validUntil = started + leaseTtlMs;
    } catch (err) {
      log.warn({ err }, "heartbeat failed");
    }
  };

  await register();
  const heartbeat = setInterval(() => void renew(), Math.max(100, Math.floor(leaseTtlMs / 3)));
  // A margin of one check interval: stop before the lease can be taken over.
  const watchdog = setInterval(() => {
    if (client && performance.now() > validUntil - 250) lapse("heartbeat overdue");
  }, 250);
  heartbeat.unref();
  watchdog.unref();

  return {
    id: () => id,
    name: opts.name,
    healthy: () => client !== undefined && performance.now() < validUntil,
    async live() {
      if (!client) return [];
      // Through the pool: the membership connection only carries the lock, heartbeats and LISTEN,
      // so a burst of placement reads can never delay a heartbeat.
      const { rows } = await sql<{
        id: string;
        name: string;
        address: string | null;
        capacity: number;
        draining: boolean;
        started_at: Date;
        heartbeat_at: Date;
        held: string;
      }>`select g.id, g.name, g.address, g.capacity, g.draining, g.started_at, g.heartbeat_at,
                (select count(*) from session_leases l where l.holder = g.id) as held
         from gateways g
         where ${sql.raw(liveCondition)}
         order by g.name, g.id`.execute(opts.db);
      return rows.map((r) => ({
        id: r.id,
        name: r.name,
        address: r.address,
        capacity: r.capacity,
        draining: r.draining,
        startedAt: r.started_at,
        heartbeatAt: r.heartbeat_at,
        held: Number(r.held),
      }));
    },
    async drain() {
      draining = true;
      await client?.query("update gateways set draining = true where id = $1", [id]).catch(() => {});
    },
    onLapse: (cb) => void lapseCbs.push(cb),
    onNudge: (cb) => void nudgeCbs.push(cb),
    async nudge() {
      await client?.query(`select pg_notify('${clusterChannel}', $1)`, [id]).catch(() => {});
    },
    async close() {
      closed = true;
      clearInterval(heartbeat);
      clearInterval(watchdog);
      await rejoining;
      const c = client;
      client = undefined;
      if (!c) return;
      await c.query("delete from gateways where id = $1", [id]).catch(() => {});
      await c.end().catch(() => {});
    },
  };
}
