import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { getBinaryNodeChild, getBinaryNodeChildBuffer, type BinaryNode, type proto } from '@whiskeysockets/baileys';
import { WebSocketServer, type WebSocket } from 'ws';
import { createServerIdentity, verifyServerIdentity, type ServerIdentity } from './cert-chain.js';
import { deviceKey, DeviceRegistry, normaliseJidUser, type PairedDevice } from './device-registry.js';
import { MalformedFrameError } from './frame-codec.js';
import { MediaHost } from './media-host.js';
import { MessagingHub } from './messaging-hub.js';
import { answerIq, iqSignature } from './iq-responder.js';
import { LinkCodeRequests } from './link-code-requests.js';
import { normalisePairingCode, PhoneCodePairing } from './pairing-code.js';
import { confirmPairing } from './phone-pairing.js';
import { parseQr } from './qr-data.js';
import { QrRefBook } from './qr-refs.js';
import { SimConnection, type ConnectionHandler } from './sim-connection.js';
import * as stanza from './stanzas.js';
import type { ContactOptions, DeviceInfo, ScanOptions, WaSimulator, WaSimulatorOptions } from './wa-simulator-api.js';
import type { ClientAck, SimContact, SimOwnPhone } from './messaging-api.js';

export type { ContactOptions, DeviceInfo, ScanOptions, WaSimulator, WaSimulatorOptions } from './wa-simulator-api.js';

const DEFAULT_PHONE = '15550000001';

/** Does `key` (`phone:dev`) fall under `jidUser` (`phone` or `phone:dev`, JID suffix allowed)? */
function matches(key: string | undefined, jidUser: string): boolean {
  if (!key) return false;
  const want = normaliseJidUser(jidUser);
  return want.includes(':') ? key === want : key.slice(0, key.indexOf(':')) === want;
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

class Simulator implements WaSimulator, ConnectionHandler {
  readonly url: string;
  readonly port: number;
  readonly rootPublicKey: Buffer;
  private readonly registry = new DeviceRegistry();
  private readonly conns = new Set<SimConnection>();
  private readonly refs: QrRefBook;
  private readonly linkCodes = new LinkCodeRequests();
  private readonly failNext: { pattern: string; reason: number; remaining: number }[] = [];
  private readonly silentPatterns = new Set<string>();
  private readonly errors: string[] = [];
  private refusing = false;
  private readonly hub: MessagingHub;

  constructor(
    private readonly wss: WebSocketServer,
    private readonly identity: ServerIdentity,
    private readonly opts: WaSimulatorOptions,
    readonly media: MediaHost,
  ) {
    this.hub = new MessagingHub(
      {
        registry: this.registry,
        readyConnections: key => [...this.conns].filter(c => c.isOpen && !c.silent && c.deviceKey === key && c.state.get('counted') && c.state.get('offline-sent')),
        error: text => {
          this.errors.push(text);
          this.opts.log?.(`wa-sim error ${text}`);
        },
        log: text => this.opts.log?.(`wa-sim ${text}`),
      },
      media,
    );
    this.port = (wss.address() as AddressInfo).port;
    this.url = `ws://127.0.0.1:${this.port}/ws/chat`;
    this.rootPublicKey = identity.rootPublicKey;
    this.refs = new QrRefBook(opts.qrTimeoutMs);
    wss.on('connection', (socket: WebSocket) => {
      const conn = new SimConnection(socket, this.identity, this);
      this.conns.add(conn);
      this.log(conn, 'socket open');
    });
  }

  // ---- ConnectionHandler ----

  shouldRefuseHandshake(): boolean {
    return this.refusing;
  }

  onClientPayload(conn: SimConnection, payload: proto.ClientPayload): void {
    if (conn.phase === 'registration') this.startRegistration(conn);
    else this.acceptLogin(conn, payload);
  }

  onStanza(conn: SimConnection, node: BinaryNode): void {
    if (node.tag !== 'iq' || (node.attrs.type !== 'get' && node.attrs.type !== 'set')) {
      this.log(conn, `recv <${node.tag}> ${node.tag === 'iq' ? iqSignature(node) : ''}`);
      if (node.tag !== 'iq' && conn.state.get('counted')) this.hub.onStanza(conn, node);
      return;
    }
    this.log(conn, `recv iq ${iqSignature(node)}`);
    const id = node.attrs.id ?? '';
    if (node.attrs.xmlns === 'md') {
      const linkCode = getBinaryNodeChild(node, 'link_code_companion_reg');
      if (linkCode) return this.onLinkCode(conn, node, linkCode);
      const remove = getBinaryNodeChild(node, 'remove-companion-device');
      if (remove) {
        const key = normaliseJidUser(remove.attrs.jid ?? '') || conn.deviceKey;
        if (key && this.registry.forget(key)) this.log(conn, `device ${key} logged out`);
        conn.send(stanza.iqResult(id));
        return;
      }
    }
    const device = conn.deviceKey ? this.registry.find(conn.deviceKey) : undefined;
    const ctx = device ?? { preKeyCount: 0 };
    conn.send((conn.state.get('counted') ? this.hub.answerIq(node) : undefined) ?? answerIq(node, ctx));
    if (iqSignature(node) === 'passive/set/active' && !conn.state.has('offline-sent')) {
      // Stanzas queued while the device was away go first (marked offline), then the end of the backlog.
      const queued = this.hub.flushOffline(conn);
      conn.state.set('offline-sent', true);
      conn.send(stanza.offlineDone(queued));
    }
  }

  onClosed(conn: SimConnection): void {
    this.conns.delete(conn);
    if (conn.state.get('counted')) this.hub.connectionClosed(conn);
    if (conn.state.get('counted') && conn.deviceKey) this.registry.loginClosed(conn.deviceKey);
    this.refs.forget(conn);
    this.linkCodes.forget(conn);
    this.log(conn, 'socket closed');
  }

  onError(conn: SimConnection, error: unknown): void {
    const text = `conn ${conn.id} (${conn.phase}): ${errorText(error)}`;
    this.errors.push(text);
    this.opts.log?.(`wa-sim error ${text}`);
  }

  // ---- registration ----

  private startRegistration(conn: SimConnection): void {
    const count = this.opts.qrRefs ?? 6;
    const refs = this.refs.offer(conn, count);
    conn.send(stanza.pairDevice(stanza.newStanzaId(), refs));
    this.log(conn, `registration: offered ${count} refs`);
  }

  async scanQr(qr: string, options: ScanOptions = {}): Promise<DeviceInfo> {
    const data = parseQr(qr);
    const conn = this.refs.claim(data.ref);
    if (!conn.isOpen || conn.phase !== 'registration') throw new Error('the connection that showed this QR is gone');
    if (!conn.clientStaticKey?.equals(data.noisePublicKey)) throw new Error('QR noise key does not match its connection');
    const device = await confirmPairing(conn, this.registry, {
      phoneNumber: options.phoneNumber ?? DEFAULT_PHONE,
      companionIdentityKey: data.identityPublicKey,
      advSecret: data.advSecret,
      timeoutMs: this.timeout(),
      initialPreKeyCount: this.opts.initialPreKeyCount ?? 0,
    });
    this.log(conn, `paired ${device.key} by QR`);
    return this.info(device);
  }

  private onLinkCode(conn: SimConnection, node: BinaryNode, reg: BinaryNode): void {
    const id = node.attrs.id ?? '';
    const stage = reg.attrs.stage;
    if (stage === 'companion_hello') {
      const wrapped = getBinaryNodeChildBuffer(reg, 'link_code_pairing_wrapped_companion_ephemeral_pub');
      if (!wrapped || wrapped.length < 80) throw new MalformedFrameError('companion_hello without wrapped ephemeral');
      const serverAuthKey = getBinaryNodeChildBuffer(reg, 'companion_server_auth_key_pub');
      const ref = Buffer.from(randomBytes(12).toString('hex'));
      this.linkCodes.addHello({
        conn,
        phoneNumber: normaliseJidUser(reg.attrs.jid ?? '').split(':')[0]!,
        wrappedEphemeral: Buffer.from(wrapped),
        serverAuthKey: serverAuthKey ? Buffer.from(serverAuthKey) : undefined,
      });
      conn.send(
        stanza.iqResult(id, [
          { tag: 'link_code_companion_reg', attrs: {}, content: [{ tag: 'link_code_pairing_ref', attrs: {}, content: ref }] },
        ]),
      );
      return;
    }
    conn.send(stanza.iqResult(id));
    if (stage === 'companion_finish') this.linkCodes.deliverFinish(conn, reg);
  }

  async enterPairingCode(phoneNumber: string, code: string): Promise<DeviceInfo> {
    const hello = await this.linkCodes.takeHello(phoneNumber, this.timeout());
    const { conn } = hello;
    if (hello.serverAuthKey && conn.clientStaticKey && !hello.serverAuthKey.equals(conn.clientStaticKey)) {
      throw new Error('companion_server_auth_key_pub does not match the Noise static key');
    }
    const account = this.registry.account(phoneNumber);
    const pairing = new PhoneCodePairing(normalisePairingCode(code), account.accountKey);
    const primary = await pairing.start(hello.wrappedEphemeral);
    const finishPromise = this.linkCodes.waitForFinish(conn, this.timeout());
    conn.send(stanza.linkCodeNotification(primary.ref, primary.primaryIdentityPublicKey, primary.wrappedPrimaryEphemeral));
    const finish = await finishPromise;
    const bundle = getBinaryNodeChildBuffer(finish, 'link_code_pairing_wrapped_key_bundle');
    const companionIdentity = getBinaryNodeChildBuffer(finish, 'companion_identity_public');
    const ref = getBinaryNodeChildBuffer(finish, 'link_code_pairing_ref');
    if (!bundle) throw new Error('companion_finish without key bundle');
    if (!ref || !Buffer.from(ref).equals(primary.ref)) throw new Error('companion_finish names another pairing ref');
    const { companionIdentityKey, advSecret } = pairing.finish(bundle, companionIdentity);
    const device = await confirmPairing(conn, this.registry, {
      phoneNumber,
      companionIdentityKey,
      advSecret,
      timeoutMs: this.timeout(),
      initialPreKeyCount: this.opts.initialPreKeyCount ?? 0,
    });
    this.log(conn, `paired ${device.key} by pairing code`);
    return this.info(device);
  }

  // ---- login ----

  private acceptLogin(conn: SimConnection, payload: proto.ClientPayload): void {
    if (payload.username === null || payload.username === undefined) throw new MalformedFrameError('login payload without username');
    const key = deviceKey(String(payload.username), Number(payload.device ?? 0));
    conn.deviceKey = key;
    if (this.isSilent(key)) {
      conn.silent = true;
      this.log(conn, `login ${key} ignored (silent)`);
      return;
    }
    const rule = this.failNext.find(r => r.remaining > 0 && matches(key, r.pattern));
    if (rule) {
      rule.remaining -= 1;
      conn.send(stanza.loginFailure(rule.reason));
      this.log(conn, `login ${key} failed on purpose (${rule.reason})`);
      return;
    }
    const device = this.registry.find(key);
    if (!device) {
      conn.send(stanza.loginFailure(401));
      this.log(conn, `login ${key} refused: not linked`);
      return;
    }
    conn.state.set('counted', true);
    const stats = this.registry.loginOpened(key);
    this.log(conn, `login ${key} accepted (live ${stats.live})`);
    if (this.opts.replaceOnNewLogin ?? true) {
      for (const other of this.conns) {
        if (other !== conn && other.deviceKey === key && other.state.get('counted') && other.isOpen) {
          other.send(stanza.conflictReplaced());
        }
      }
    }
    conn.send(stanza.loginSuccess(device.lid));
  }

  // ---- inspection ----

  private liveLogins(jidUser: string): SimConnection[] {
    return [...this.conns].filter(c => c.isOpen && c.state.get('counted') && matches(c.deviceKey, jidUser));
  }

  liveConnections(jidUser: string): number {
    return this.registry.keysFor(jidUser).reduce((n, k) => n + this.registry.stats(k).live, 0);
  }

  resetMaxConcurrent(): void {
    this.registry.resetPeaks();
  }

  maxConcurrent(jidUser: string): number {
    return this.registry.keysFor(jidUser).reduce((n, k) => Math.max(n, this.registry.stats(k).maxConcurrent), 0);
  }

  totalLogins(jidUser: string): number {
    return this.registry.keysFor(jidUser).reduce((n, k) => n + this.registry.stats(k).totalLogins, 0);
  }

  devices(): DeviceInfo[] {
    return this.registry.list().map(d => this.info(d));
  }

  openSockets(): number {
    return this.conns.size;
  }

  protocolErrors(): readonly string[] {
    return [...this.errors];
  }

  // ---- faults ----

  dropConnection(jidUser?: string): number {
    const targets = [...this.conns].filter(c => jidUser === undefined || matches(c.deviceKey, jidUser));
    for (const c of targets) c.terminate();
    return targets.length;
  }

  sendFailure(jidUser: string, reason: number): number {
    const targets = this.liveLogins(jidUser);
    for (const c of targets) c.send(stanza.loginFailure(reason));
    return targets.length;
  }

  failNextLogin(jidUser: string, reason: number, times = 1): void {
    this.failNext.push({ pattern: normaliseJidUser(jidUser), reason, remaining: times });
  }

  conflictReplaced(jidUser: string): number {
    const targets = this.liveLogins(jidUser);
    for (const c of targets) c.send(stanza.conflictReplaced());
    return targets.length;
  }

  deviceRemoved(jidUser: string): number {
    for (const c of this.liveLogins(jidUser)) c.send(stanza.deviceRemoved());
    const keys = this.registry.list().filter(d => matches(d.key, jidUser)).map(d => d.key);
    for (const k of keys) this.registry.forget(k);
    return keys.length;
  }

  refuseHandshake(on: boolean): void {
    this.refusing = on;
  }

  goSilent(jidUser: string, on = true): void {
    const pattern = normaliseJidUser(jidUser);
    if (on) this.silentPatterns.add(pattern);
    else this.silentPatterns.delete(pattern);
    for (const c of this.conns) if (matches(c.deviceKey, pattern)) c.silent = on;
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.terminate();
    await new Promise<void>(resolve => this.wss.close(() => resolve()));
    await this.media.close();
  }

  // ---- messaging ----

  contact(phone: string, options?: ContactOptions): SimContact {
    return this.hub.contact(phone, options);
  }

  ownPhone(phone: string): SimOwnPhone {
    return this.hub.ownPhone(phone);
  }

  frameCount(messageId: string): number {
    return this.hub.frameCount(messageId);
  }

  duplicateFrames(): { id: string; count: number }[] {
    return this.hub.duplicateFrames();
  }

  clientAcks(): ClientAck[] {
    return this.hub.clientAcks();
  }

  messagingErrors(): string[] {
    return this.hub.messagingErrors();
  }

  preKeyCount(jidUser: string): number {
    return this.registry.keysFor(jidUser).reduce((n, k) => n + (this.registry.find(k)?.preKeys.count ?? 0), 0);
  }

  drainPreKeys(jidUser: string, leave = 0): number {
    let dropped = 0;
    for (const k of this.registry.keysFor(jidUser)) {
      const device = this.registry.find(k);
      if (!device) continue;
      dropped += device.preKeys.drain(leave);
      this.hub.checkPreKeys(device);
    }
    return dropped;
  }

  // ---- helpers ----

  private isSilent(key: string): boolean {
    for (const p of this.silentPatterns) if (matches(key, p)) return true;
    return false;
  }

  private timeout(): number {
    return this.opts.pairingTimeoutMs ?? 10_000;
  }

  private info(d: PairedDevice): DeviceInfo {
    const s = this.registry.stats(d.key);
    return {
      key: d.key,
      jid: d.jid,
      lid: d.lid,
      phoneNumber: d.phoneNumber,
      deviceId: d.deviceId,
      pairedAt: d.pairedAt,
      liveConnections: s.live,
      maxConcurrent: s.maxConcurrent,
      totalLogins: s.totalLogins,
    };
  }

  private log(conn: SimConnection, text: string): void {
    this.opts.log?.(`wa-sim conn ${conn.id}: ${text}`);
  }
}

/**
 * Starts a WhatsApp server simulator on 127.0.0.1 that the real Baileys client can pair
 * with (QR or pairing code) and log in to. Point the client at `sim.url` and set
 * `WA_CERT_DETAILS.PUBLIC_KEY = sim.rootPublicKey`.
 */
export async function startWaSimulator(options: WaSimulatorOptions = {}): Promise<WaSimulator> {
  const identity = createServerIdentity();
  if (!verifyServerIdentity(identity)) throw new Error('wa-sim: generated certificate chain does not verify');
  const wss = new WebSocketServer({ host: '127.0.0.1', port: options.port ?? 0, maxPayload: 16 * 1024 * 1024 });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  wss.on('error', err => options.log?.(`wa-sim server error: ${errorText(err)}`));
  const media = await MediaHost.start();
  return new Simulator(wss, identity, options, media);
}
