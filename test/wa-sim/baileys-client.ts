import makeWASocket, { WA_CERT_DETAILS, type AuthenticationState, type ConnectionState, type UserFacingSocketConfig, type WASocket } from '@whiskeysockets/baileys';
import { pino } from 'pino';
import type { WaSimulator } from './wa-simulator.js';

/** Socket timing overrides that keep fault paths fast in tests. */
export interface ClientTimings {
  connectTimeoutMs?: number;
  keepAliveIntervalMs?: number;
  qrTimeout?: number;
  defaultQueryTimeoutMs?: number;
}

/** A real Baileys socket pointed at the simulator, with its connection events collected. */
export interface SimClient {
  readonly sock: WASocket;
  readonly auth: AuthenticationState;
  /** Every `connection.update` received, in order. */
  readonly updates: Partial<ConnectionState>[];
  /** Every QR string emitted. */
  readonly qrs: string[];
  /** Resolves with the first QR. */
  readonly firstQr: Promise<string>;
  /** Resolves when `connection: 'open'` is emitted; rejects if the socket closes first. */
  readonly opened: Promise<void>;
  /** Resolves on `receivedPendingNotifications` (after `<ib><offline>`): live messages arrive as `notify` from here on. */
  readonly ready: Promise<void>;
  /** Resolves with the close status code (`lastDisconnect.error.output.statusCode`). */
  readonly closed: Promise<number | undefined>;
}

/** Points Baileys' certificate check at the simulator's root key (process-wide). */
export function trustSimulator(sim: WaSimulator): void {
  WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(sim.rootPublicKey);
}

/**
 * Opens a real Baileys socket on `auth` against the simulator and collects its events. `extra` is merged
 * into the socket config last (e.g. `{ fetchAgent: sim.media.httpsAgent() }` for media uploads).
 */
export function connectClient(
  sim: WaSimulator,
  auth: AuthenticationState,
  timings: ClientTimings = {},
  extra: Partial<UserFacingSocketConfig> = {},
): SimClient {
  trustSimulator(sim);
  const sock = makeWASocket({
    auth,
    waWebSocketUrl: sim.url,
    logger: pino({ level: process.env.WA_SIM_LOG ?? 'silent' }),
    shouldSyncHistoryMessage: () => false,
    markOnlineOnConnect: false,
    connectTimeoutMs: timings.connectTimeoutMs ?? 5_000,
    keepAliveIntervalMs: timings.keepAliveIntervalMs ?? 30_000,
    defaultQueryTimeoutMs: timings.defaultQueryTimeoutMs ?? 5_000,
    ...(timings.qrTimeout !== undefined ? { qrTimeout: timings.qrTimeout } : {}),
    ...extra,
  });
  const updates: Partial<ConnectionState>[] = [];
  const qrs: string[] = [];
  let onQr: (qr: string) => void = () => {};
  let onOpen: () => void = () => {};
  let onOpenFail: (e: Error) => void = () => {};
  let onClose: (code: number | undefined) => void = () => {};
  let onReady: () => void = () => {};
  const ready = new Promise<void>(r => (onReady = r));
  const firstQr = new Promise<string>(r => (onQr = r));
  const opened = new Promise<void>((res, rej) => {
    onOpen = res;
    onOpenFail = rej;
  });
  opened.catch(() => {});
  const closed = new Promise<number | undefined>(r => (onClose = r));
  sock.ev.on('creds.update', update => Object.assign(auth.creds, update));
  sock.ev.on('connection.update', update => {
    updates.push(update);
    if (update.qr) {
      qrs.push(update.qr);
      onQr(update.qr);
    }
    if (update.connection === 'open') onOpen();
    if (update.receivedPendingNotifications) onReady();
    if (update.connection === 'close') {
      const err = update.lastDisconnect?.error as { output?: { statusCode?: number } } | undefined;
      const code = err?.output?.statusCode;
      onOpenFail(new Error(`closed with ${code} before open`));
      onClose(code);
    }
  });
  return { sock, auth, updates, qrs, firstQr, opened, ready, closed };
}
