import { WA_CERT_DETAILS } from "@whiskeysockets/baileys";
import type { Kysely } from "kysely";
import type { Config } from "../config.js";
import type { Database } from "../db/schema.js";
import type { EventLog } from "../events/event-log.js";
import { apiError } from "../errors/api-error.js";
import type { Logger } from "../logger.js";
import { baileysLogger } from "./baileys-logger.js";
import { createEngineStore, type EngineStore } from "./engine-store.js";
import { type QrInfo, SessionRuntime } from "./session-runtime.js";
import type { SessionLocks } from "./session-locks.js";

/** Runs this process's WhatsApp sessions: one {@link SessionRuntime} per running session. */
export interface Supervisor {
  store: EngineStore;
  /**
   * Reconciles with the database: starts every session that should run and
   * that no other gateway holds, stops local ones that should not run any
   * more. Runs at boot and then every `WA_SCAN_MS`; returns how many started.
   */
  resumeAll(): Promise<number>;
  /** Starts the session's runtime here unless it runs here already; false when another gateway holds it. */
  start(sessionId: string): Promise<boolean>;
  /** Stops the session's runtime, keeping auth. */
  stop(sessionId: string): Promise<void>;
  /** Unlinks and wipes auth; the runtime is stopped. */
  logout(sessionId: string): Promise<void>;
  /** The QR on offer, if the session is waiting for a scan in this process. */
  qr(sessionId: string): QrInfo | undefined;
  requestPairingCode(sessionId: string, phoneNumber: string): Promise<string>;
  /** True when a runtime for the session exists in this process. */
  isRunning(sessionId: string): boolean;
  /** Closes every socket (shutdown); desired states are kept so a restart resumes them. */
  close(): Promise<void>;
}

/** Creates the supervisor. */
export function createSupervisor(db: Kysely<Database>, events: EventLog, config: Config, log: Logger, locks: SessionLocks): Supervisor {
  if (config.whatsapp.rootPublicKey) WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(config.whatsapp.rootPublicKey);
  const store = createEngineStore(db, events);
  const runtimes = new Map<string, SessionRuntime>();
  const engineLog = log.child({ component: "whatsapp" });
  const deps = {
    db,
    store,
    config: { ...config.whatsapp, waWebSocketUrl: config.waWebSocketUrl, gatewayId: config.gatewayId },
    log: engineLog,
    baileysLog: baileysLogger(engineLog, config.whatsapp.logLevel),
  };
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
  const stopRuntime = async (id: string) => {
    const rt = runtimes.get(id);
    if (!rt) return;
    runtimes.delete(id);
    await rt.stop();
    await locks.release(id);
  };
  /** Starts a runtime for a session whose lock this process holds. */
  const run = async (id: string) => {
    const rt = new SessionRuntime(id, deps);
    runtimes.set(id, rt);
    try {
      await rt.start();
    } catch (err) {
      runtimes.delete(id);
      await rt.stop().catch(() => {});
      await locks.release(id);
      throw err;
    }
  };
  // Without the lock connection, exclusivity is gone: stop every socket now.
  locks.onLost(() => {
    for (const id of [...runtimes.keys()]) void exclusive(id, async () => {
      const rt = runtimes.get(id);
      runtimes.delete(id);
      await rt?.stop();
    });
  });
  let scanTimer: NodeJS.Timeout | undefined;
  let closed = false;

  return {
    store,
    async resumeAll() {
      if (closed) return 0;
      const rows = await store.listRunnable();
      const wanted = new Set(rows.map((r) => r.id));
      // Local runtimes whose session was stopped, failed or deleted (possibly through another gateway).
      await Promise.all(
        [...runtimes.keys()].filter((id) => !wanted.has(id)).map((id) => exclusive(id, () => stopRuntime(id))),
      );
      const candidates = rows.map((r) => r.id).filter((id) => !runtimes.has(id));
      const mine = await locks.acquire(candidates);
      await Promise.all(
        mine.map((id) =>
          exclusive(id, async () => {
            if (runtimes.has(id) || closed) return;
            await run(id);
          }).catch((err: unknown) => engineLog.error("could not start session", { sessionId: id, err })),
        ),
      );
      if (mine.length > 0) engineLog.info("sessions taken up", { count: mine.length });
      if (!scanTimer && !closed) {
        scanTimer = setInterval(() => void this.resumeAll().catch((err: unknown) => engineLog.warn("session scan failed", { err })), config.whatsapp.scanMs);
        scanTimer.unref();
      }
      return mine.length;
    },
    start(id) {
      return exclusive(id, async () => {
        if (runtimes.has(id)) return true;
        const [got] = await locks.acquire([id]);
        if (!got) return false;
        await run(id);
        return true;
      });
    },
    stop(id) {
      return exclusive(id, () => stopRuntime(id));
    },
    logout(id) {
      return exclusive(id, async () => {
        let rt = runtimes.get(id);
        runtimes.delete(id);
        if (!rt) {
          // Not running here: wipe the auth state only if no other gateway runs it.
          const [got] = await locks.acquire([id]);
          if (!got) throw apiError("conflict", "the session is running on another gateway; stop it first or retry there");
          rt = new SessionRuntime(id, deps);
        }
        await rt.logout();
        await locks.release(id);
      });
    },
    qr: (id) => runtimes.get(id)?.qr(),
    async requestPairingCode(id, phoneNumber) {
      const rt = runtimes.get(id);
      if (!rt) throw new Error("not running");
      return rt.requestPairingCode(phoneNumber);
    },
    isRunning: (id) => runtimes.has(id),
    async close() {
      closed = true;
      if (scanTimer) clearInterval(scanTimer);
      await Promise.all([...runtimes.keys()].map((id) => exclusive(id, () => stopRuntime(id))));
      await locks.close();
    },
  };
}
