import { WA_CERT_DETAILS } from "@whiskeysockets/baileys";
import type { Kysely } from "kysely";
import type { Config } from "../config.js";
import type { Database } from "../db/schema.js";
import type { EventLog } from "../events/event-log.js";
import type { Logger } from "../logger.js";
import { baileysLogger } from "./baileys-logger.js";
import { createEngineStore, type EngineStore } from "./engine-store.js";
import { type QrInfo, SessionRuntime } from "./session-runtime.js";

/** Runs this process's WhatsApp sessions: one {@link SessionRuntime} per running session. */
export interface Supervisor {
  store: EngineStore;
  /** Starts every session whose desired state is `running` (boot). */
  resumeAll(): Promise<number>;
  /** Starts the session's runtime unless it is already running. */
  start(sessionId: string): Promise<void>;
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
export function createSupervisor(db: Kysely<Database>, events: EventLog, config: Config, log: Logger): Supervisor {
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
  const locks = new Map<string, Promise<unknown>>();
  const exclusive = <T>(id: string, fn: () => Promise<T>): Promise<T> => {
    const prev = locks.get(id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    locks.set(id, tail);
    void tail.then(() => {
      if (locks.get(id) === tail) locks.delete(id);
    });
    return next;
  };
  const stopRuntime = async (id: string) => {
    const rt = runtimes.get(id);
    if (!rt) return;
    runtimes.delete(id);
    await rt.stop();
  };

  return {
    store,
    async resumeAll() {
      const rows = await store.listRunnable();
      await Promise.all(rows.map((r) => this.start(r.id).catch((err: unknown) => engineLog.error("could not resume session", { sessionId: r.id, err }))));
      if (rows.length > 0) engineLog.info("sessions resumed", { count: rows.length });
      return rows.length;
    },
    start(id) {
      return exclusive(id, async () => {
        if (runtimes.has(id)) return;
        const rt = new SessionRuntime(id, deps);
        runtimes.set(id, rt);
        try {
          await rt.start();
        } catch (err) {
          runtimes.delete(id);
          await rt.stop().catch(() => {});
          throw err;
        }
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
          // Not running here: open the auth state only to wipe it.
          rt = new SessionRuntime(id, deps);
        }
        await rt.logout();
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
      await Promise.all([...runtimes.keys()].map((id) => exclusive(id, () => stopRuntime(id))));
    },
  };
}
