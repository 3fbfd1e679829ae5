import type { WASocket } from "@whiskeysockets/baileys";
import type { Config } from "../config.js";
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import { apiError } from "../errors/api-error.js";
import type { Logger } from "../logger.js";
import { isLeaseLost } from "../cluster/lease-lost-error.js";
import { type DbAuthState, loadAuthState, wipeAuthState, type WriteFence } from "./auth-state-store.js";
import type { EngineStore } from "./engine-store.js";
import type { SessionMessaging } from "../messages/session-messaging.js";
import { baileys } from "./baileys.js";
import type { SessionBaileysLogger } from "./baileys-logger.js";

/** The QR currently offered for a scan. */
export interface QrInfo {
  qr: string;
  expiresAt: number;
  attempt: number;
}

/** What a runtime needs. */
export interface RuntimeDeps {
  db: Kysely<Database>;
  store: EngineStore;
  config: Config["whatsapp"] & { waWebSocketUrl: string; gatewayId: string };
  /** The session's log (its id bound). */
  log: Logger;
  /** Baileys' logger for this session (flushed when the runtime stops). */
  baileysLog: SessionBaileysLogger;
  /** Guards every auth-state write (lease fencing). */
  fence?: WriteFence;
  /** Called when a fenced write was refused: another gateway holds the session now. */
  onLeaseLost?: () => void;
  /** The session's messages (outbox and receiving); the runtime hands it each socket. */
  messaging?: SessionMessaging;
}

/** Baileys' default QR lifetimes: the first ref lives 60 s, later ones 20 s. */
const defaultFirstQrMs = 60_000;
const defaultNextQrMs = 20_000;


/**
 * One running session: at most one Baileys socket at a time, the status
 * machine of the contract, and the reconnect policy. Everything it learns is
 * written through the {@link EngineStore} (row + events in one transaction).
 */
export class SessionRuntime {
  private sock: WASocket | undefined;
  private auth: DbAuthState | undefined;
  private socketClosed: Promise<void> = Promise.resolve();
  private intentional = false;
  private stopped = false;
  private connected = false;
  private failures = 0;
  private qrCount = 0;
  /** True once the current attempt has offered a QR (WhatsApp was reached). */
  private attemptQr = false;
  /** `status_reason` of the latest failure, kept while the next attempt connects. */
  private failureReason: string | null = null;
  private currentQr: QrInfo | undefined;
  private qrWaiters: (() => void)[] = [];
  private openWaiters: (() => void)[] = [];
  /** A detached logout's connection: writes no status while it lives. */
  private quiet = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  private settle!: () => void;
  /** Resolves when the first connection attempt has an outcome: open, a QR on offer, closed, or stopped. */
  readonly settled = new Promise<void>((r) => (this.settle = r));

  constructor(
    readonly sessionId: string,
    private readonly deps: RuntimeDeps,
  ) {
    this.log = deps.log;
  }

  /** Opens the first connection. */
  async start(): Promise<void> {
    this.auth = await loadAuthState(this.deps.db, this.sessionId, this.deps.fence, { cacheEntries: this.deps.config.keyCacheEntries });
    await this.connect();
  }

  /** True while the socket is open and logged in. */
  isWorking(): boolean {
    return this.connected && !this.stopped;
  }

  /** The open socket while the session is working. */
  socket(): WASocket | undefined {
    return this.isWorking() ? this.sock : undefined;
  }

  /** Records, after {@link stop}, that the session moves to another gateway (it will reconnect there). */
  async markHandedOver(): Promise<void> {
    await this.deps.store.apply(this.sessionId, {
      status: "starting",
      reason: "handover",
      patch: { gateway_id: null },
      events: [{ type: "connection.close", data: { code: 0, reason: "handover", willReconnect: true } }],
    });
  }

  /**
   * Logout of a session that is not connected: connects with the stored
   * auth state just long enough to unlink the device on WhatsApp (at most
   * `connectTimeoutMs`), then wipes the auth state whatever happened.
   */
  async logoutDetached(): Promise<void> {
    this.auth = await loadAuthState(this.deps.db, this.sessionId, this.deps.fence, { cacheEntries: this.deps.config.keyCacheEntries });
    if (this.auth.isPaired()) {
      const opened = new Promise<void>((resolve) => (this.openWaiters.push(resolve)));
      await this.connect({ quiet: true });
      const timer = new Promise((r) => setTimeout(r, this.deps.config.connectTimeoutMs));
      await Promise.race([opened, timer]);
      if (!this.connected) this.log.warn("could not reach WhatsApp to unlink; wiping local auth state anyway");
    }
    await this.logout();
  }

  /** Runs an event handler: a refused (fenced) write drops the session here; other errors are logged. */
  private guard(p: Promise<unknown>): void {
    p.catch((err: unknown) => {
      if (isLeaseLost(err)) {
        this.stopped = true;
        this.deps.onLeaseLost?.();
      } else this.log.error({ err }, "session event handling failed");
    });
  }

  /** The QR on offer, if the session is waiting for a scan. */
  qr(): QrInfo | undefined {
    return this.connected || this.auth?.isPaired() ? undefined : this.currentQr;
  }

  /** True when the device is linked. */
  isPaired(): boolean {
    return this.auth?.isPaired() ?? false;
  }

  /**
   * The QR on offer; while the socket is between QRs (handshaking, or
   * reconnecting), the next one, waiting at most `waitMs`. Undefined when
   * none came or the session is not waiting for a scan.
   */
  async nextQr(waitMs: number): Promise<QrInfo | undefined> {
    if (this.stopped || this.connected || this.isPaired()) return undefined;
    if (!this.currentQr) await this.qrOffered(waitMs);
    return this.qr();
  }

  /** Resolves true once WhatsApp offers a QR (pairing), false after `waitMs`. */
  private qrOffered(waitMs: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.qrWaiters = this.qrWaiters.filter((w) => w !== offered);
        resolve(false);
      }, waitMs);
      const offered = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.qrWaiters.push(offered);
    });
  }

  /** Asks WhatsApp for a pairing code for `phoneNumber`; the session must be waiting for pairing. */
  async requestPairingCode(phoneNumber: string): Promise<string> {
    if (this.stopped || this.isPaired()) throw apiError("conflict", "session is not waiting for pairing");
    // The socket may still be handshaking: wait for the pairing offer (the first QR).
    if (!this.currentQr && !(await this.qrOffered(15_000))) throw apiError("unavailable", "WhatsApp did not offer pairing in time; retry");
    const sock = this.sock;
    if (!sock || this.stopped || this.isPaired()) throw apiError("conflict", "session is not waiting for pairing");
    const raw = await sock.requestPairingCode(phoneNumber);
    const code = raw.length === 8 ? `${raw.slice(0, 4)}-${raw.slice(4)}` : raw;
    await this.deps.store.apply(this.sessionId, { events: [{ type: "auth.pairing_code", data: { code, phoneNumber } }] });
    return code;
  }

  /** Closes the socket and stops reconnecting; the auth state is kept. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.deps.messaging?.stop();
    this.settle();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    await this.closeSocket();
    await this.auth?.flush();
    this.deps.baileysLog.flush();
  }

  /** Unlinks the device from WhatsApp (when connected) and wipes the auth state. */
  async logout(): Promise<void> {
    this.stopped = true;
    this.deps.messaging?.setWorking(false);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const sock = this.sock;
    if (sock && this.connected) {
      this.intentional = true;
      try {
        await Promise.race([sock.logout(), new Promise((r) => setTimeout(r, 5_000))]);
      } catch (err) {
        this.log.warn({ err }, "logout on WhatsApp failed; wiping local auth state anyway");
      }
    }
    await this.closeSocket();
    await this.auth?.flush();
    await wipeAuthState(this.deps.db, this.sessionId, this.deps.fence);
    await this.deps.messaging?.loggedOut();
    this.deps.messaging?.stop();
    this.deps.baileysLog.flush();
  }

  private async closeSocket(): Promise<void> {
    const sock = this.sock;
    if (!sock) return;
    this.intentional = true;
    sock.end(undefined);
    await Promise.race([this.socketClosed, new Promise((r) => setTimeout(r, 5_000))]);
    this.sock = undefined;
    this.connected = false;
  }

  private async connect(opts: { quiet?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    const auth = this.auth!;
    const { config } = this.deps;
    this.intentional = false;
    this.currentQr = undefined;
    this.attemptQr = false;
    this.quiet = opts.quiet ?? false;
    if (!this.quiet) {
      await this.deps.store.apply(this.sessionId, {
        status: "starting",
        // While retrying, the reason of the last failure stays visible (with `last_error`).
        reason: this.failures > 0 ? this.failureReason : null,
        patch: { gateway_id: config.gatewayId },
        events: [{ type: "connection.connecting", data: { attempt: this.failures + 1, gatewayId: config.gatewayId } }],
      });
    }
    if (this.stopped) return;
    const { default: makeWASocket, DisconnectReason } = baileys();
    const sock = makeWASocket({
      auth: auth.state,
      waWebSocketUrl: config.waWebSocketUrl,
      logger: this.deps.baileysLog,
      browser: ["wa-gateway", "Chrome", "1.0.0"],
      markOnlineOnConnect: false,
      syncFullHistory: false,
      shouldSyncHistoryMessage: () => false,
      connectTimeoutMs: config.connectTimeoutMs,
      keepAliveIntervalMs: config.keepAliveMs,
      ...(config.qrTimeoutMs !== undefined ? { qrTimeout: config.qrTimeoutMs } : {}),
      getMessage: async (key) => this.deps.messaging?.getMessage(key),
    });
    this.sock = sock;
    if (!this.quiet) this.deps.messaging?.attach(sock);
    let markClosed!: () => void;
    this.socketClosed = new Promise<void>((r) => (markClosed = r));

    // Baileys applies the update to the creds object itself (its own listener
    // runs first), so "newly paired" is judged against the state at connect.
    let announced = auth.isPaired();
    sock.ev.on("creds.update", (update) => {
      Object.assign(auth.state.creds, update);
      this.guard(auth.saveCreds());
      if (!announced && update.me?.id) {
        announced = true;
        this.guard(this.onPaired());
      }
    });
    sock.ev.on("connection.update", (u) => {
      if (sock !== this.sock) return;
      if (this.quiet) {
        if (u.connection === "open") {
          this.connected = true;
          for (const w of this.openWaiters.splice(0)) w();
        }
        if (u.connection === "close") {
          markClosed();
          this.sock = undefined;
          this.connected = false;
        }
        return;
      }
      if (u.qr) this.guard(this.onQr(u.qr));
      if (u.connection === "open") this.guard(this.onOpen());
      if (u.connection === "close") {
        markClosed();
        const err = u.lastDisconnect?.error as { output?: { statusCode?: number }; message?: string } | undefined;
        this.guard(this.onClose(err?.output?.statusCode ?? DisconnectReason.connectionClosed, err?.message ?? "closed"));
      }
    });
    sock.ev.on("messages.upsert", ({ messages, type }) => {
      if (type !== "notify") return;
      this.guard(this.maybeMarkRead(sock, messages.filter((m) => !m.key.fromMe).map((m) => m.key)));
    });
  }

  private async maybeMarkRead(sock: WASocket, keys: Parameters<WASocket["readMessages"]>[0]): Promise<void> {
    if (keys.length === 0) return;
    const row = await this.deps.store.get(this.sessionId);
    if (row?.auto_read) await sock.readMessages(keys).catch((err: unknown) => this.log.warn({ err }, "auto-read failed"));
  }

  private async onQr(qr: string): Promise<void> {
    this.settle();
    this.qrCount++;
    this.attemptQr = true;
    const lifetime = this.deps.config.qrTimeoutMs ?? (this.qrCount === 1 ? defaultFirstQrMs : defaultNextQrMs);
    this.currentQr = { qr, expiresAt: Date.now() + lifetime, attempt: this.qrCount };
    for (const w of this.qrWaiters.splice(0)) w();
    await this.deps.store.apply(this.sessionId, {
      status: "scan_qr_code",
      events: [{ type: "auth.qr", data: { ...this.currentQr } }],
    });
  }

  /** The attached number from the creds (`me`), as row fields. */
  private identity(): { phone_number: string; wa_jid: string; wa_lid: string | null } | undefined {
    const me = this.auth?.state.creds.me;
    if (!me?.id) return undefined;
    const phoneNumber = me.id.split(":")[0]!.split("@")[0]!;
    const lid = me.lid ? `${me.lid.split(":")[0]!.split("@")[0]}@lid` : null;
    return { phone_number: phoneNumber, wa_jid: `${phoneNumber}@s.whatsapp.net`, wa_lid: lid };
  }

  private async onPaired(): Promise<void> {
    const id = this.identity()!;
    this.currentQr = undefined;
    await this.deps.store.apply(this.sessionId, {
      patch: id,
      events: [{ type: "auth.paired", data: { phoneNumber: id.phone_number, waJid: id.wa_jid, waLid: id.wa_lid } }],
    });
  }

  private async onOpen(): Promise<void> {
    this.settle();
    this.connected = true;
    this.failures = 0;
    this.failureReason = null;
    this.qrCount = 0;
    this.currentQr = undefined;
    await this.deps.store.apply(this.sessionId, {
      status: "working",
      patch: { last_error: null, last_connected_at: new Date(), gateway_id: this.deps.config.gatewayId, ...this.identity() },
      events: [{ type: "connection.open", data: { gatewayId: this.deps.config.gatewayId } }],
    });
    this.deps.messaging?.setWorking(true);
  }

  private async onClose(code: number, message: string): Promise<void> {
    this.settle();
    this.deps.messaging?.setWorking(false);
    this.sock = undefined;
    const wasConnected = this.connected;
    this.connected = false;
    if (this.intentional || this.stopped) return;
    const paired = this.isPaired();
    const store = this.deps.store;
    const close = (willReconnect: boolean) => ({ type: "connection.close" as const, data: { code, reason: message, willReconnect } });
    // A socket existed, so Baileys is loaded.
    const { DisconnectReason } = baileys();
    // Close codes after which reconnecting is pointless (handled one by one below).
    const terminal = [DisconnectReason.loggedOut, DisconnectReason.connectionReplaced, DisconnectReason.forbidden];

    if (code === DisconnectReason.restartRequired) {
      await store.apply(this.sessionId, { events: [close(true)] });
      return this.connect();
    }
    if (terminal.includes(code)) {
      this.stopped = true;
      if (code === DisconnectReason.loggedOut) {
        await this.auth?.flush();
        await wipeAuthState(this.deps.db, this.sessionId, this.deps.fence);
        this.auth = await loadAuthState(this.deps.db, this.sessionId, this.deps.fence, { cacheEntries: this.deps.config.keyCacheEntries });
        await store.apply(this.sessionId, {
          status: "failed",
          reason: "logged_out",
          patch: { desired_state: "stopped", phone_number: null, wa_jid: null, wa_lid: null },
          events: [close(false), { type: "auth.logged_out", data: { code } }],
        });
        await this.deps.messaging?.loggedOut();
      } else if (code === DisconnectReason.connectionReplaced) {
        // Another client took over this number: stop, do not fight over it.
        await store.apply(this.sessionId, { status: "stopped", reason: "conflict_replaced", patch: { desired_state: "stopped" }, events: [close(false)] });
      } else {
        await store.apply(this.sessionId, { status: "failed", reason: "forbidden", patch: { desired_state: "stopped" }, events: [close(false)] });
      }
      return;
    }
    if (!paired && !wasConnected && code === DisconnectReason.timedOut && this.qrCount > 0) {
      this.stopped = true;
      await store.apply(this.sessionId, {
        status: "failed",
        reason: "qr_attempts_exhausted",
        patch: { desired_state: "stopped" },
        events: [close(false)],
      });
      return;
    }
    this.failures++;
    // Never opened and no QR offered: WhatsApp was not reached (DNS, refused, TLS, timeout, proxy...).
    const reason = wasConnected || this.attemptQr ? "connection_lost" : "connect_failed";
    this.failureReason = reason;
    if (this.failures > this.deps.config.maxReconnects) {
      this.stopped = true;
      await store.apply(this.sessionId, {
        status: "failed",
        reason: "reconnect_attempts_exhausted",
        patch: { desired_state: "stopped", last_error: message },
        events: [close(false)],
      });
      this.log.error({ code, cause: message, attempts: this.failures, lastFailure: reason }, "giving up on the session: every connection attempt failed");
      return;
    }
    const { reconnectBaseMs, reconnectMaxMs } = this.deps.config;
    const delay = Math.min(reconnectMaxMs, reconnectBaseMs * 2 ** (this.failures - 1)) * (0.5 + Math.random() / 2);
    await store.apply(this.sessionId, {
      status: "starting",
      reason,
      patch: { last_error: message },
      events: [{ ...close(true), data: { ...close(true).data, retryInMs: Math.round(delay) } }],
    });
    this.log.warn(
      { code, cause: message, attempt: this.failures, maxAttempts: this.deps.config.maxReconnects + 1, retryInMs: Math.round(delay) },
      reason === "connect_failed" ? "connection attempt failed" : "connection lost",
    );
    this.reconnectTimer = setTimeout(() => this.guard(this.connect()), delay);
  }
}
