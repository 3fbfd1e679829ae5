import type { MediaHost } from './media-host.js';
import type { ClientAck, SimContact, SimOwnPhone } from './messaging-api.js';

/** Options of `startWaSimulator`. */
export interface WaSimulatorOptions {
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Refs offered in each `pair-device` (default 6). */
  qrRefs?: number;
  /** Server-side lifetime of each QR ref in ms; default 60 s for the first, 20 s after (as the client). */
  qrTimeoutMs?: number;
  /** How long scanQr/enterPairingCode wait for the companion's replies (default 10 s). */
  pairingTimeoutMs?: number;
  /** Pre-key count reported for a freshly linked device (default 0: the client uploads its initial batch). */
  initialPreKeyCount?: number;
  /** Send `conflict replaced` (440) to an older live connection when the same device logs in again (default true). */
  replaceOnNewLogin?: boolean;
  /** Optional sink for one-line diagnostics. */
  log?: (line: string) => void;
}

/** Options of {@link WaSimulator.scanQr}. */
export interface ScanOptions {
  /** Phone number (digits) of the scanning phone; default 15550000001. */
  phoneNumber?: string;
}

/** Options of {@link WaSimulator.contact}. */
export interface ContactOptions {
  /** Push name sent as `notify` (default `Contact <last 4 digits>`). */
  name?: string;
  /** LID user digits (default derived from the phone number). */
  lidUser?: string;
}

/** Public view of a linked device and its connection figures. */
export interface DeviceInfo {
  /** `phone:device`. */
  readonly key: string;
  readonly jid: string;
  readonly lid: string;
  readonly phoneNumber: string;
  readonly deviceId: number;
  readonly pairedAt: Date;
  readonly liveConnections: number;
  readonly maxConcurrent: number;
  readonly totalLogins: number;
}

/** A running simulator: the server plus phone, inspection and fault-injection controls. */
export interface WaSimulator {
  /** `ws://127.0.0.1:PORT/ws/chat`, for `waWebSocketUrl`. */
  readonly url: string;
  readonly port: number;
  /** Root key to put in `WA_CERT_DETAILS.PUBLIC_KEY` in the client process. */
  readonly rootPublicKey: Buffer;
  /** Plays the phone scanning `qr`; resolves once the device is verified, linked and 515 is sent. */
  scanQr(qr: string, options?: ScanOptions): Promise<DeviceInfo>;
  /** Plays the phone typing the 8-char `code` for `phoneNumber`; resolves like {@link scanQr}. */
  enterPairingCode(phoneNumber: string, code: string): Promise<DeviceInfo>;
  /** Logged-in connections now open for `phone:dev` (or summed over a bare `phone`). */
  liveConnections(jidUser: string): number;
  /** Highest number of simultaneous logged-in connections ever seen (max over devices for a bare phone). */
  maxConcurrent(jidUser: string): number;
  /** Starts a new observation window for {@link maxConcurrent}: peaks are reset to the live counts. */
  resetMaxConcurrent(): void;
  /** Accepted logins so far (summed over devices for a bare phone). */
  totalLogins(jidUser: string): number;
  /** Currently linked devices. */
  devices(): DeviceInfo[];
  /** Every open WebSocket, logged in or not. */
  openSockets(): number;
  /** Errors that ended client sockets (malformed frames, failed handshakes, …). */
  protocolErrors(): readonly string[];
  /** Closes the matching sockets (all when omitted); the client sees 428. Returns how many. */
  dropConnection(jidUser?: string): number;
  /** Sends `<failure reason=N/>` on the matching live connections now. Returns how many. */
  sendFailure(jidUser: string, reason: number): number;
  /** Makes the next `times` logins of the matching device(s) fail with `<failure reason=N/>`. */
  failNextLogin(jidUser: string, reason: number, times?: number): void;
  /** Sends `conflict replaced` (client: 440) on the matching live connections. Returns how many. */
  conflictReplaced(jidUser: string): number;
  /** Unlinks the device(s) and sends `device_removed` (client: 401) to live connections. Returns devices removed. */
  deviceRemoved(jidUser: string): number;
  /** While on, sockets are closed right after ClientHello, with no ServerHello. */
  refuseHandshake(on: boolean): void;
  /** While on, the matching device's connections (current and future) get no frame at all (client: 408). */
  goSilent(jidUser: string, on?: boolean): void;
  /**
   * The simulated contact with this phone number (digits, `+digits` or PN JID), created on first use with
   * a Signal identity of its own. It is "on WhatsApp" for usync, hands out its key bundle, decrypts what
   * companions send it and can message any paired account. See `messaging-api.ts`.
   */
  contact(phone: string, options?: ContactOptions): SimContact;
  /** The own phone (device 0) of a paired account: decrypts the companion's copies of its sends. */
  ownPhone(phone: string): SimOwnPhone;
  /** The local HTTPS media host `media_conn` points to (uploads, downloads, TLS trust helpers). */
  readonly media: MediaHost;
  /** Raw `<message>` frames received from companions with this WhatsApp message id. */
  frameCount(messageId: string): number;
  /** Message ids seen in more than one raw frame, with their counts. */
  duplicateFrames(): { id: string; count: number }[];
  /** `<ack>` stanzas companions sent (for receipts, undecryptable messages, …). */
  clientAcks(): ClientAck[];
  /** One-time pre-keys the server holds for `phone:dev` (summed over a bare phone's devices). */
  preKeyCount(jidUser: string): number;
  /**
   * Fault: drops the matching companions' one-time pre-keys until `leave` remain (default 0), then sends
   * the low-count `encrypt` notification (< 5) to live ones, as the real server does. Returns keys dropped.
   */
  drainPreKeys(jidUser: string, leave?: number): number;
  /** Every `<enc>` from a companion that a simulated contact or phone failed to decrypt (see `undecryptable()`). */
  messagingErrors(): string[];
  /** Stops the server and the media host, and drops every socket. */
  close(): Promise<void>;
}
