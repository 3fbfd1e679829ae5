import type { Kysely } from "kysely";
import type { GatewayRegistry } from "../cluster/gateway-registry.js";
import { isLeaseLost } from "../cluster/lease-lost-error.js";
import { planRound, preferenceOrder } from "../cluster/placement.js";
import type { Lease, LeaseHolder, SessionLeases } from "../cluster/session-leases.js";
import type { Config } from "../config.js";
import { isTransientDatabaseError } from "../db/database-unavailable.js";
import type { Database } from "../db/schema.js";
import type { EventLog } from "../events/event-log.js";
import { apiError } from "../errors/api-error.js";
import type { Logger } from "../logger.js";
import { loadBaileys } from "./baileys.js";
import { shareBaileysAsyncStorage } from "./baileys-async-storage.js";
import { baileysLogger } from "./baileys-logger.js";
import { createEngineStore, type EngineStore, fencedEngineStore } from "./engine-store.js";
import { type QrInfo, SessionRuntime } from "./session-runtime.js";
import type { WASocket } from "@whiskeysockets/baileys";
import type { MessageStore } from "../messages/message-store.js";
import { SessionMessaging } from "../messages/session-messaging.js";
import { createSendingStore } from "../messages/sending-store.js";

/** Runs this process's WhatsApp sessions: one {@link SessionRuntime} per session whose lease it holds. */
export interface Supervisor {
  store: EngineStore;
  /** `GATEWAY_ID`. */
  readonly gatewayName: string;
  /**
   * One reconciliation round: stops local sessions that should not run any
   * more, takes this gateway's share of the sessions no live gateway holds,
   * and (when rebalancing) hands over what exceeds its share. Runs at boot,
   * every `WA_SCAN_MS` and when another gateway asks; returns how many it took.
   */
  resumeAll(): Promise<number>;
  /**
   * Starts the session here when it is not held anywhere and this gateway is
   * among the least loaded; otherwise asks the cluster to place it. True
   * when it runs here; false too when the database is busy (the next round
   * starts it), so a recorded wish to run is never reported as a failure.
   */
  start(sessionId: string): Promise<boolean>;
  /** Stops the session's runtime here (keeping auth) and gives its lease up. */
  stop(sessionId: string): Promise<void>;
  /**
   * Unlinks the device from WhatsApp and wipes its auth state. A paired
   * session not connected anywhere is connected briefly to unlink it.
   */
  logout(sessionId: string): Promise<void>;
  /**
   * The QR on offer if the session is waiting for a scan in this process;
   * between two QRs, the next one, waiting at most `waitMs`.
   */
  nextQr(sessionId: string, waitMs: number): Promise<QrInfo | undefined>;
  requestPairingCode(sessionId: string, phoneNumber: string): Promise<string>;
  /** Messages may be queued for the session: its outbox sends them if it runs here and works. */
  kickOutbox(sessionId: string): void;
  /** The open socket of a session working in this process. */
  socketOf(sessionId: string): WASocket | undefined;
  /** True when a runtime for the session exists in this process. */
  isRunning(sessionId: string): boolean;
  /** Ids of the sessions running in this process. */
  localSessions(): string[];
  /** This gateway's cluster membership (PostgreSQL), once joined. */
  registry(): GatewayRegistry | undefined;
  /** The live gateway holding the session when it is not this one (PostgreSQL only). */
  heldElsewhere(sessionId: string): Promise<LeaseHolder | undefined>;
  /**
   * Leaves: marks this gateway draining, closes every socket and gives each
   * lease up only after its socket closed, then asks the others to take them.
   */
  close(): Promise<void>;
}

/** What the supervisor is built from. */
export interface SupervisorDeps {
  db: Kysely<Database>;
  events: EventLog;
  config: Config;
  log: Logger;
  leases: SessionLeases;
  /** True on PostgreSQL: sessions are leased among gateways, and nothing starts before this one has joined. */
  clustered: boolean;
  /** This gateway's cluster membership (PostgreSQL), once it has joined. */
  registry: () => GatewayRegistry | undefined;
  /** The message store the sessions' outboxes and receivers write through (engine connection). */
  messages: MessageStore;
}

/** Local sessions handed over per round when rebalancing. */
const maxMovesPerRound = 10;

/**
 * Sessions connecting at once when many start together (boot, failover):
 * beyond this, handshakes only compete for the CPU and run into their
 * timeouts, so the rest wait for a slot.
 */
const connectingAtOnce = 50;

/** A counting semaphore: `run(fn)` waits for one of `size` slots. */
function limiter(size: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= size) await new Promise<void>((r) => waiting.push(r));
    else active++;
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

/** Creates the supervisor. */
export function createSupervisor(opts: SupervisorDeps): Supervisor {
  const { db, events, config, log, leases } = opts;
  const store = createEngineStore(db, events);
  const sending = createSendingStore(db, events);
  const runtimes = new Map<string, { rt: SessionRuntime; lease: Lease; messaging: SessionMessaging; log: Logger }>();
  const engineLog = log.child({ component: "whatsapp" });
  const multiplexed = shareBaileysAsyncStorage(config.whatsapp.shareAsyncStorage);
  engineLog.debug({ multiplexed, setting: config.whatsapp.shareAsyncStorage }, "Baileys' async storages");
  const runtimeConfig = { ...config.whatsapp, waWebSocketUrl: config.waWebSocketUrl, gatewayId: config.gatewayId };
  /** Baileys, loaded with the first session this process connects (not at boot), with the configured WhatsApp root key. */
  let baileysReady: Promise<void> | undefined;
  const engineReady = () =>
    (baileysReady ??= loadBaileys().then((b) => {
      if (config.whatsapp.rootPublicKey) b.WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(config.whatsapp.rootPublicKey);
    }));
  const holderId = () => opts.registry()?.id() ?? config.gatewayId;
  // Serializes lifecycle operations per session, so start/stop/logout never interleave.
  const queues = new Map<string, Promise<unknown>>();
  const exclusive = <T>(id: string, fn: () => Promise<T>): Promise<T> => {
    const prev = queues.get(id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    queues.set(id, tail);
    void tail.then(() => {
      if (queues.get(id) === tail) queues.delete(id);
    });
    return next;
  };

  /**
   * A runtime whose writes are fenced by `lease`; losing the lease drops it here. Its lines (engine, messages,
   * Baileys) carry the session id and, when the row is read, the organization id.
   */
  const newRuntime = async (id: string, lease: Lease) => {
    const fence = leases.fence(id, lease);
    const organizationId = (await store.get(id))?.organization_id;
    const sessionLog = log.child(organizationId === undefined ? { sessionId: id } : { sessionId: id, organizationId });
    const messaging = new SessionMessaging({
      sessionId: id,
      organizationId: async () => {
        if (organizationId === undefined) throw new Error(`session ${id} no longer exists`);
        return organizationId;
      },
      store: opts.messages,
      fence,
      media: mediaPolicy,
      log: sessionLog.child({ component: "messages" }),
      onLeaseLost: () => void drop(id, rt),
      sending,
      engine: fencedEngineStore(store, fence),
      settings: config.sending,
    });
    const rtLog = sessionLog.child({ component: "whatsapp" });
    const rt: SessionRuntime = new SessionRuntime(id, {
      db,
      config: runtimeConfig,
      log: rtLog,
      baileysLog: baileysLogger(sessionLog, { level: config.whatsapp.logLevel, collapseWindowMs: config.whatsapp.logRepeatWindowMs }),
      store: fencedEngineStore(store, fence),
      fence,
      onLeaseLost: () => void drop(id, rt),
      messaging,
    });
    return { rt, messaging, log: rtLog };
  };
  const m = config.messages;
  const mediaPolicy = { maxBytes: m.maxMediaBytes, timeoutMs: m.mediaFetchTimeoutMs, allowHttp: m.mediaAllowHttp, allowPrivate: m.mediaAllowPrivate };
  /** Closes a runtime that lost its lease: no writes, no release (the lease is someone else's). */
  const drop = (id: string, rt: SessionRuntime) =>
    exclusive(id, async () => {
      const entry = runtimes.get(id);
      if (entry?.rt !== rt) return;
      runtimes.delete(id);
      entry.log.warn("lease lost: closing the session here");
      await rt.stop();
    });
  /** Stops a local runtime and releases its lease once the socket is closed. */
  const stopRuntime = async (id: string, handOver = false) => {
    const entry = runtimes.get(id);
    if (!entry) return;
    runtimes.delete(id);
    await entry.rt.stop();
    if (handOver) await entry.rt.markHandedOver().catch(() => {});
    await leases.release(id, entry.lease).catch((err: unknown) => entry.log.warn({ err }, "could not release lease"));
  };
  /** Starts a runtime under a lease just taken. */
  const run = async (id: string, lease: Lease) => {
    let created: Awaited<ReturnType<typeof newRuntime>> | undefined;
    try {
      await engineReady();
      created = await newRuntime(id, lease);
      runtimes.set(id, { ...created, lease });
      await created.rt.start();
    } catch (err) {
      if (created) {
        runtimes.delete(id);
        await created.rt.stop().catch(() => {});
      }
      if (!isLeaseLost(err)) await leases.release(id, lease).catch(() => {});
      throw err;
    }
  };
  const connecting = limiter(connectingAtOnce);
  /** Starts sessions just leased, a bounded number connecting at a time. */
  const runTaken = (taken: Map<string, Lease>) =>
    Promise.all(
      [...taken].map(([id, lease]) =>
        connecting(async () => {
          await exclusive(id, async () => {
            // Taken by an instance that has lapsed meanwhile: not ours to run any more.
            if (closed || runtimes.has(id) || lease.holder !== holderId()) return leases.release(id, lease);
            await run(id, lease);
          });
          // The slot is held until the first attempt has an outcome, outside the session's queue.
          const rt = runtimes.get(id)?.rt;
          let timer: NodeJS.Timeout | undefined;
          if (rt) await Promise.race([rt.settled, new Promise((r) => (timer = setTimeout(r, config.whatsapp.connectTimeoutMs)))]);
          clearTimeout(timer);
        }).catch((err: unknown) =>
          isLeaseLost(err)
            ? engineLog.warn({ sessionId: id }, "session taken over by another gateway while it started here")
            : engineLog.error({ sessionId: id, err }, "could not start session"),
        ),
      ),
    );

  let closed = false;
  let scanTimer: NodeJS.Timeout | undefined;
  let outboxTimer: NodeJS.Timeout | undefined;
  let round: Promise<number> | undefined;
  let again = false;
  let joined = false;

  /** Wires the cluster membership once: lapse drops everything, nudges trigger a round. */
  const wire = (registry: GatewayRegistry) => {
    if (joined) return;
    joined = true;
    registry.onLapse(() => {
      for (const [id, { rt }] of runtimes) void drop(id, rt);
    });
    registry.onNudge(() => void supervisor.resumeAll().catch(() => {}));
  };

  const reconcile = async (): Promise<number> => {
    // 1. Local sessions stopped, failed or deleted meanwhile (possibly through another gateway).
    const local = [...runtimes.keys()];
    if (local.length > 0) {
      const wanted = await store.runnableAmong(local);
      await Promise.all(local.filter((id) => !wanted.has(id)).map((id) => exclusive(id, () => stopRuntime(id))));
    }
    const registry = opts.registry();
    if (opts.clustered && !registry) return 0;
    if (!registry) {
      // Embedded database: one gateway runs everything that should run.
      const { ids } = await leases.unheld();
      const taken = await leases.acquire(holderId(), ids.filter((id) => !runtimes.has(id)));
      await runTaken(taken);
      return taken.size;
    }
    wire(registry);
    if (!registry.healthy()) return 0;
    // 2. Placement: this gateway's share of the unheld sessions, and hand-overs when over it.
    const [gateways, { ids, runnable }] = await Promise.all([registry.live(), leases.unheld()]);
    const me = registry.id();
    const plan = planRound(gateways, me, runnable, { rebalance: config.cluster.rebalance, maxMoves: maxMovesPerRound });
    const names = gateways.filter((g) => !g.draining).map((g) => g.name);
    const candidates = preferenceOrder(ids.filter((id) => !runtimes.has(id)), registry.name, names).slice(0, plan.take);
    const taken = await leases.acquire(me, candidates);
    await runTaken(taken);
    if (plan.handOver > 0) {
      const movable = [...runtimes].filter(([, e]) => e.rt.isWorking()).map(([id]) => id);
      // The sessions this gateway is least attached to move first.
      const order = preferenceOrder(movable, registry.name, names).reverse().slice(0, plan.handOver);
      await Promise.all(order.map((id) => exclusive(id, () => stopRuntime(id, true))));
      if (order.length > 0) {
        engineLog.info({ count: order.length }, "sessions handed over for balance");
        await registry.nudge();
      }
    }
    return taken.size;
  };

  const supervisor: Supervisor = {
    store,
    gatewayName: config.gatewayId,
    resumeAll() {
      if (closed) return Promise.resolve(0);
      // One round at a time; a request during a round runs one more after it.
      if (round) {
        again = true;
        return round;
      }
      round = reconcile()
        .then((n) => {
          if (n > 0) engineLog.info({ count: n }, "sessions taken up");
          return n;
        })
        .finally(() => {
          round = undefined;
          if (again && !closed) {
            again = false;
            void supervisor.resumeAll().catch((err: unknown) => engineLog.warn({ err }, "session scan failed"));
          }
        });
      if (!outboxTimer && !closed) {
        // A message queued through another gateway wakes the holder through the event log; this poll is the fallback.
        outboxTimer = setInterval(() => {
          const local = [...runtimes.keys()];
          void opts.messages
            .withPending(local)
            .then((ids) => ids.forEach((id) => runtimes.get(id)?.messaging.kick()))
            .catch((err: unknown) => engineLog.warn({ err }, "outbox poll failed"));
        }, config.messages.outboxPollMs);
        outboxTimer.unref();
      }
      if (!scanTimer && !closed) {
        scanTimer = setInterval(() => void supervisor.resumeAll().catch((err: unknown) => engineLog.warn({ err }, "session scan failed")), config.whatsapp.scanMs);
        scanTimer.unref();
      }
      return round;
    },
    start(id) {
      return exclusive(id, async () => {
        if (runtimes.has(id)) return true;
        const registry = opts.registry();
        if (opts.clustered && !registry) return false; // not joined yet: the first round places it
        if (registry) {
          // Place it here only if no open gateway holds fewer sessions; otherwise let the least loaded take it.
          const gateways = await registry.live();
          const me = gateways.find((g) => g.id === registry.id());
          const open = gateways.filter((g) => !g.draining && g.held < g.capacity);
          const least = Math.min(...open.map((g) => g.held));
          if (!me || me.draining || me.held >= me.capacity || (open.length > 0 && me.held > least)) {
            await registry.nudge();
            return false;
          }
        }
        const taken = await leases.acquire(holderId(), [id]);
        const lease = taken.get(id);
        if (!lease) return false;
        await run(id, lease);
        return true;
      }).catch((err: unknown) => {
        // Another gateway took the session over meanwhile (this one's heartbeat lapsed): it runs there.
        if (isLeaseLost(err)) {
          engineLog.warn({ sessionId: id }, "session taken over by another gateway while it started here");
          return false;
        }
        // The wish to run is recorded: a busy or briefly unreachable database only delays the start to the next round.
        if (!isTransientDatabaseError(err)) throw err;
        engineLog.warn({ sessionId: id, err }, "session start deferred to the next round");
        return false;
      });
    },
    stop(id) {
      return exclusive(id, () => stopRuntime(id));
    },
    logout(id) {
      return exclusive(id, async () => {
        const entry = runtimes.get(id);
        if (entry) {
          runtimes.delete(id);
          await entry.rt.logout();
          await leases.release(id, entry.lease).catch(() => {});
          return;
        }
        // Not connected here: take the lease (refused if another gateway holds it), connect briefly, unlink.
        if (opts.clustered && !opts.registry()) throw apiError("unavailable", "the gateway is still joining; retry");
        const lease = (await leases.acquire(holderId(), [id])).get(id);
        if (!lease) throw apiError("unavailable", "the session is held by another gateway; retry");
        try {
          await engineReady();
          const { rt } = await newRuntime(id, lease);
          await rt.logoutDetached();
        } finally {
          await leases.release(id, lease).catch(() => {});
        }
      });
    },
    nextQr: async (id, waitMs) => runtimes.get(id)?.rt.nextQr(waitMs),
    async requestPairingCode(id, phoneNumber) {
      const entry = runtimes.get(id);
      if (!entry) throw apiError("unavailable", "the session is not connected on this gateway; retry");
      return entry.rt.requestPairingCode(phoneNumber);
    },
    kickOutbox: (id) => runtimes.get(id)?.messaging.kick(),
    socketOf: (id) => runtimes.get(id)?.rt.socket(),
    isRunning: (id) => runtimes.has(id),
    localSessions: () => [...runtimes.keys()],
    registry: () => opts.registry(),
    async heldElsewhere(id) {
      const registry = opts.registry();
      if (!registry || runtimes.has(id)) return undefined;
      const holder = await leases.holderOf(id);
      return holder && holder.id !== registry.id() ? holder : undefined;
    },
    async close() {
      closed = true;
      if (scanTimer) clearInterval(scanTimer);
      if (outboxTimer) clearInterval(outboxTimer);
      const registry = opts.registry();
      await registry?.drain();
      await round?.catch(() => {});
      await Promise.all([...runtimes.keys()].map((id) => exclusive(id, () => stopRuntime(id, registry !== undefined))));
      await registry?.nudge();
      await registry?.close();
    },
  };
  return supervisor;
}
