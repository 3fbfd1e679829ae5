import { getBinaryNodeChild, getBinaryNodeChildBuffer, getBinaryNodeChildren, proto, type BinaryNode } from '@whiskeysockets/baileys';
import type { DeviceRegistry, PairedDevice, PhoneAccount } from './device-registry.js';
import { iqSignature } from './iq-responder.js';
import { answerKeyFetch } from './key-fetch-answer.js';
import type { MediaHost } from './media-host.js';
import { unpadMessage } from './message-padding.js';
import { messageAck, retryReceipt } from './message-stanzas.js';
import type { ClientAck, SimStamp } from './messaging-api.js';
import { OwnPhone } from './own-phone.js';
import { RecordedList } from './recorded-list.js';
import { Contact, type ContactNetwork } from './sim-contact.js';
import type { SimConnection } from './sim-connection.js';
import { lidJid, parseJid, pnJid } from './sim-jid.js';
import type { WireBundle } from './signal-peer.js';
import { iqResult, newStanzaId, unixNow } from './stanzas.js';
import { answerUsync, type DirectoryUser } from './usync-answer.js';
import type { ContactOptions } from './wa-simulator-api.js';

/** What the messaging layer needs from the simulator around it. */
export interface MessagingHost {
  readonly registry: DeviceRegistry;
  /** Logged-in connections of `phone:dev` that already got `<ib><offline>` (live delivery targets). */
  readyConnections(deviceKey: string): SimConnection[];
  /** Records a messaging failure (shows in `protocolErrors()`). */
  error(text: string): void;
  log(text: string): void;
}


/** The pre-key bundle a retry receipt carries in `<keys>` (from count 2), with `<registration>`. */
function parseRetryKeys(receipt: BinaryNode): WireBundle | undefined {
  const keys = getBinaryNodeChild(receipt, 'keys');
  const reg = getBinaryNodeChildBuffer(receipt, 'registration');
  const identity = getBinaryNodeChildBuffer(keys, 'identity');
  const skey = getBinaryNodeChild(keys, 'skey');
  if (!keys || !reg || !identity || !skey) return undefined;
  const num = (b: Uint8Array | undefined): number => (b ? Buffer.from(b).readUIntBE(0, b.length) : 0);
  const pk = getBinaryNodeChild(keys, 'key');
  return {
    registrationId: num(reg),
    identity: Buffer.from(identity),
    signedPreKey: {
      id: num(getBinaryNodeChildBuffer(skey, 'id')),
      publicKey: Buffer.from(getBinaryNodeChildBuffer(skey, 'value') ?? []),
      signature: Buffer.from(getBinaryNodeChildBuffer(skey, 'signature') ?? []),
    },
    ...(pk ? { preKey: { id: num(getBinaryNodeChildBuffer(pk, 'id')), publicKey: Buffer.from(getBinaryNodeChildBuffer(pk, 'value') ?? []) } } : {}),
  };
}

/** Below this many one-time pre-keys the server asks the companion for more (Baileys' MIN_PREKEY_COUNT). */
const MIN_PREKEYS = 5;

function messageText(node: BinaryNode): Buffer {
  const c = node.content;
  if (c instanceof Uint8Array) return Buffer.from(c);
  if (typeof c === 'string') return Buffer.from(c, 'binary');
  throw new Error('enc without bytes');
}

/**
 * The messaging half of the simulator: simulated contacts and own phones, the directory IQs
 * (usync, key bundles, media_conn), routing of companions' `<message>`/`<receipt>`/`<chatstate>`/`<ack>`
 * stanzas, offline queues per companion, and raw frame counts per message id.
 */
export class MessagingHub implements ContactNetwork {
  private readonly contacts = new Map<string, Contact>();
  private readonly contactsByLid = new Map<string, Contact>();
  private readonly phones = new Map<string, OwnPhone>();
  private readonly frames = new Map<string, number>();
  private readonly offlineQueues = new Map<string, BinaryNode[]>();
  private readonly acks = new RecordedList<ClientAck>();
  private readonly failures: string[] = [];
  private readonly lowNotified = new Map<string, number>();
  /** Messages written to a device and not yet receipted (or acked) by it, per device key. */
  private readonly inflight = new Map<string, Map<string, BinaryNode>>();
  private seq = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly host: MessagingHost,
    readonly media: MediaHost,
  ) {}

  /** Next position on the simulator clock. */
  stamp(): SimStamp {
    this.seq += 1;
    return { seq: this.seq, at: Date.now() };
  }

  // ---- peers ----

  /** The contact with this phone number, created on first use. */
  contact(phone: string, options: ContactOptions = {}): Contact {
    const digits = parseJid(phone).user;
    const existing = this.contacts.get(digits) ?? this.contactsByLid.get(digits);
    if (existing) return existing;
    if (!/^\d{6,15}$/.test(digits)) throw new Error(`wa-sim: contact phone must be 6–15 digits, got ${phone}`);
    if (this.host.registry.findAccount(digits)) throw new Error(`wa-sim: ${digits} is a paired account, not a contact`);
    const lidUser = options.lidUser ?? String(200_000_000_000_000 + (Number(digits) % 99_999_999_999_999));
    const c = new Contact(digits, lidUser, options.name ?? `Contact ${digits.slice(-4)}`, this);
    this.contacts.set(digits, c);
    this.contactsByLid.set(lidUser, c);
    return c;
  }

  /** The own phone (device 0) of a paired account. */
  ownPhone(phone: string): OwnPhone {
    const account = this.resolveAccount(phone);
    let p = this.phones.get(account.phoneNumber);
    if (!p) {
      p = new OwnPhone(account, this);
      this.phones.set(account.phoneNumber, p);
    }
    return p;
  }

  resolveAccount(to: string): PhoneAccount {
    const account = this.host.registry.findAccount(parseJid(to).user);
    if (!account) throw new Error(`wa-sim: no paired account ${to}`);
    return account;
  }

  private lidOf(phone: string): string {
    return this.host.registry.findAccount(phone)?.lidUser ?? phone;
  }

  private findContact(user: string): Contact | undefined {
    return this.contacts.get(user) ?? this.contactsByLid.get(user);
  }

  // ---- delivery to companions ----

  async deliver(
    account: PhoneAccount,
    build: (device: PairedDevice) => Promise<BinaryNode | undefined>,
    queueIfOffline: boolean,
  ): Promise<{ live: string[]; queued: string[] }> {
    const live: string[] = [];
    const queued: string[] = [];
    for (const device of this.host.registry.devicesOf(account.phoneNumber)) {
      const node = await build(device);
      this.checkPreKeys(device);
      if (!node) continue;
      const outcome = this.toDevice(device, node, queueIfOffline);
      if (outcome === 'live') live.push(device.key);
      else if (outcome === 'queued') queued.push(device.key);
    }
    return { live, queued };
  }

  /**
   * A companion connection closed: messages it never receipted go back to the front of the device's
   * offline queue (as the real server keeps them until the device acknowledges), unless another
   * ready connection of the device is still there.
   */
  connectionClosed(conn: SimConnection): void {
    const key = conn.deviceKey;
    const pending = key ? this.inflight.get(key) : undefined;
    if (!key || !pending?.size || this.host.readyConnections(key).length) return;
    this.inflight.delete(key);
    this.offlineQueues.set(key, [...pending.values(), ...(this.offlineQueues.get(key) ?? [])]);
    this.host.log(`device ${key}: ${pending.size} unreceipted message(s) queued for redelivery`);
  }

  /** The device receipted/acked these ids: they are no longer the server's to redeliver. */
  private delivered(deviceKey: string, ids: readonly string[]): void {
    const pending = this.inflight.get(deviceKey);
    for (const id of ids) pending?.delete(id);
    const q = this.offlineQueues.get(deviceKey);
    if (q) this.offlineQueues.set(deviceKey, q.filter(n => n.tag !== 'message' || !ids.includes(n.attrs.id ?? '')));
  }

  /** Sends the stanzas queued for this connection's device (marked `offline`); returns how many. */
  flushOffline(conn: SimConnection): number {
    const key = conn.deviceKey;
    const q = key ? this.offlineQueues.get(key) : undefined;
    if (!key || !q) return 0;
    this.offlineQueues.delete(key);
    const pending = this.inflight.get(key) ?? new Map<string, BinaryNode>();
    for (const node of q) {
      conn.send({ ...node, attrs: { ...node.attrs, offline: '1' } });
      if (node.tag === 'message' && node.attrs.id) pending.set(node.attrs.id, node);
    }
    this.inflight.set(key, pending);
    return q.length;
  }

  // ---- directory IQs ----

  /** Answers usync, key-bundle fetch and media_conn IQs; `undefined` for any other IQ. */
  answerIq(node: BinaryNode): BinaryNode | undefined {
    const sig = iqSignature(node);
    if (sig === 'usync/get/usync') return answerUsync(node, user => this.directoryUser(user));
    if (sig === 'encrypt/get/key') return answerKeyFetch(node, jid => this.bundleFor(jid));
    if (sig === 'w:m/set/media_conn') {
      return iqResult(node.attrs.id ?? '', [
        { tag: 'media_conn', attrs: { auth: this.media.auth, ttl: '300' }, content: [{ tag: 'host', attrs: { hostname: this.media.hostname } }] },
      ]);
    }
    return undefined;
  }

  private directoryUser(user: string): DirectoryUser | undefined {
    const contact = this.findContact(user);
    if (contact) return { phone: contact.phone, lidUser: contact.lidUser, devices: [{ id: 0 }] };
    const account = this.host.registry.findAccount(user);
    if (!account) return undefined;
    const companions = this.host.registry.devicesOf(account.phoneNumber).map(d => ({ id: d.deviceId, keyIndex: d.keyIndex }));
    return { phone: account.phoneNumber, lidUser: account.lidUser, devices: [{ id: 0 }, ...companions] };
  }

  private bundleFor(jid: string): WireBundle | undefined {
    const { user, device } = parseJid(jid);
    const contact = this.findContact(user);
    if (contact) return device === 0 ? contact.peer.bundle() : undefined;
    const account = this.host.registry.findAccount(user);
    if (!account) return undefined;
    if (device === 0) return this.ownPhone(account.phoneNumber).peer.bundle();
    const companion = this.host.registry.find(`${account.phoneNumber}:${device}`);
    if (!companion?.preKeys.ready) return undefined;
    const bundle = companion.preKeys.take();
    this.checkPreKeys(companion);
    return bundle;
  }

  /**
   * Like the real server, tells a companion whose one-time pre-keys ran low (< 5) with
   * `<notification type='encrypt'><count value=N/></notification>`; Baileys then uploads more.
   * Sent once per count value, to ready connections only (a login's `<count/>` query covers the rest).
   */
  checkPreKeys(device: PairedDevice): void {
    const count = device.preKeys.count;
    if (!device.preKeys.ready || count >= MIN_PREKEYS || this.lowNotified.get(device.key) === count) return;
    this.lowNotified.set(device.key, count);
    const node: BinaryNode = {
      tag: 'notification',
      // The real server's `from` is a JID pair with no user, which Baileys decodes as '@s.whatsapp.net'
      // (S_WHATSAPP_NET); the plain token 's.whatsapp.net' would be taken for an identity-change notice.
      attrs: { from: '@s.whatsapp.net', type: 'encrypt', id: newStanzaId(), t: unixNow() },
      content: [{ tag: 'count', attrs: { value: String(count) } }],
    };
    for (const c of this.host.readyConnections(device.key)) c.send(node);
  }

  // ---- stanzas from companions ----

  /** Takes a non-IQ stanza from a logged-in companion (handled in arrival order). */
  onStanza(conn: SimConnection, node: BinaryNode): void {
    const stamp = this.stamp();
    if (node.tag === 'message' && node.attrs.id) this.frames.set(node.attrs.id, (this.frames.get(node.attrs.id) ?? 0) + 1);
    this.chain = this.chain
      .then(() => this.handle(conn, node, stamp))
      .catch(err => this.host.error(`messaging: <${node.tag} id=${node.attrs.id ?? ''}>: ${err instanceof Error ? err.message : String(err)}`));
  }

  private async handle(conn: SimConnection, node: BinaryNode, stamp: SimStamp): Promise<void> {
    const key = conn.deviceKey;
    if (!key) return;
    const [phone, dev] = key.split(':') as [string, string];
    const from = pnJid(phone, Number(dev));
    switch (node.tag) {
      case 'message':
        return this.onMessage(conn, node, stamp, phone, Number(dev));
      case 'receipt': {
        const to = node.attrs.to ?? '';
        const ids = [node.attrs.id ?? '', ...getBinaryNodeChildren(getBinaryNodeChild(node, 'list'), 'item').map(i => i.attrs.id ?? '')];
        const receipt = { ...stamp, ids, type: node.attrs.type ?? '', from, to };
        this.delivered(key, ids);
        const target = this.findContact(parseJid(to).user);
        if (target) {
          target.recordReceipt(receipt);
          if (receipt.type === 'retry') await this.resendAfterRetry(target, key, node);
          return;
        }
        const account = this.host.registry.findAccount(parseJid(to).user);
        if (!account) return;
        if (account.phoneNumber === phone) return this.ownPhone(phone).recordReceipt(receipt);
        // a receipt for another paired account: its companions get it from this user
        const attrs: Record<string, string> = { ...node.attrs, from: to.endsWith('@lid') ? lidJid(this.lidOf(phone)) : pnJid(phone), t: node.attrs.t ?? String(Math.floor(Date.now() / 1000)) };
        delete attrs.to;
        // the sender sees an `inactive` receipt as a plain delivery
        if (attrs.type === 'inactive') delete attrs.type;
        for (const d of this.host.registry.devicesOf(account.phoneNumber)) this.toDevice(d, { ...node, attrs }, true);
        return;
      }
      case 'chatstate': {
        const to = node.attrs.to ?? '';
        const child = Array.isArray(node.content) ? node.content[0] : undefined;
        if (!child || (child.tag !== 'composing' && child.tag !== 'paused')) return;
        const state = child.tag === 'composing' && child.attrs.media === 'audio' ? 'recording' : child.tag;
        const contact = this.findContact(parseJid(to).user);
        if (contact) return contact.recordChatstate({ ...stamp, state, from, to });
        const account = this.host.registry.findAccount(parseJid(to).user);
        if (account && account.phoneNumber !== phone) {
          const relayed: BinaryNode = { tag: 'chatstate', attrs: { from: pnJid(phone) }, content: node.content };
          for (const d of this.host.registry.devicesOf(account.phoneNumber)) this.toDevice(d, relayed, false);
        }
        return;
      }
      case 'ack': {
        const a = node.attrs;
        if (a.class === 'message' && a.id) this.delivered(key, [a.id]);
        const ack: ClientAck = { ...stamp, id: a.id ?? '', class: a.class ?? '', device: key, to: a.to ?? '' };
        this.acks.push({ ...ack, ...(a.type ? { type: a.type } : {}), ...(a.error ? { error: a.error } : {}) });
        return;
      }
      default:
        return;
    }
  }

  private async onMessage(conn: SimConnection, node: BinaryNode, stamp: SimStamp, phone: string, dev: number): Promise<void> {
    const id = node.attrs.id ?? '';
    const chat = node.attrs.to ?? '';
    const chatContact = this.findContact(parseJid(chat).user);
    const ackError = chatContact?.takeAckError();
    const participants = getBinaryNodeChild(node, 'participants');
    const targets: { jid: string; enc: BinaryNode }[] = participants
      ? getBinaryNodeChildren(participants, 'to').flatMap(t => getBinaryNodeChildren(t, 'enc').map(enc => ({ jid: t.attrs.jid ?? '', enc })))
      : getBinaryNodeChildren(node, 'enc').map(enc => ({ jid: chat, enc }));
    const relays: { device: PairedDevice; enc: BinaryNode }[] = [];
    for (const { jid, enc } of targets) {
      const { user, device } = parseJid(jid);
      const contact = device === 0 ? this.findContact(user) : undefined;
      const account = contact ? undefined : this.host.registry.findAccount(user);
      if (account && device !== 0) {
        // another companion (of another paired account, or a sibling of the sender): relay the <enc>
        const companion = this.host.registry.find(`${account.phoneNumber}:${device}`);
        if (companion && companion.key !== conn.deviceKey) relays.push({ device: companion, enc });
        else this.host.log(`message ${id}: no linked device ${jid}; dropped`);
        continue;
      }
      const peer = contact ?? (account ? this.ownPhone(account.phoneNumber) : undefined);
      if (!peer) {
        this.host.log(`message ${id}: no simulated device for ${jid}; dropped`);
        continue;
      }
      const encType = enc.attrs.type ?? '';
      let message: proto.IMessage;
      try {
        const padded = await peer.peer.decrypt(phone, dev, encType, messageText(enc));
        message = proto.Message.toObject(proto.Message.decode(unpadMessage(padded)), { longs: Number }) as proto.IMessage;
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        this.failures.push(`message ${id} from ${pnJid(phone, dev)} to ${jid}: ${error}`);
        this.host.log(`message ${id}: ${jid} could not decrypt: ${error}`);
        if (contact) {
          const count = contact.recordUndecryptable({ ...stamp, id, encType, from: pnJid(phone, dev), to: chat, error });
          const t = Math.floor(Date.now() / 1000);
          conn.send(retryReceipt(chat.endsWith('@lid') ? contact.lid : contact.jid, id, t, count, contact.peer.registrationId));
        }
        continue;
      }
      peer.recordMessage({
        ...stamp,
        id,
        type: node.attrs.type ?? '',
        ...(enc.attrs.mediatype ? { mediaType: enc.attrs.mediatype } : {}),
        encType,
        from: pnJid(phone, dev),
        to: chat,
        message,
        ...(ackError ? { ackError: ackError.code } : {}),
      });
    }
    if (!ackError) await this.relay(node, relays, phone, dev);
    const ack = messageAck(id, chat, Math.floor(Date.now() / 1000), ackError?.code);
    if (ackError?.delayMs) setTimeout(() => conn.send(ack), ackError.delayMs);
    else conn.send(ack);
  }

  /**
   * A companion could not decrypt a contact's message and sent `<receipt type='retry'>`: the contact
   * re-encrypts it for that device (a new session from the receipt's `<keys>` when present) and sends
   * it again with the same id and `<enc count=N>`.
   */
  private async resendAfterRetry(contact: Contact, deviceKey: string, receipt: BinaryNode): Promise<void> {
    const device = this.host.registry.find(deviceKey);
    const retry = getBinaryNodeChild(receipt, 'retry');
    if (!device || !retry) return;
    const bundle = parseRetryKeys(receipt);
    const node = await contact.reencrypt(receipt.attrs.id ?? '', device, Number(retry.attrs.count ?? 1), bundle);
    if (node) this.toDevice(device, node, true);
  }

  /**
   * Hands `<enc>`s addressed to real companions on: `<message from=sender:dev id t type [recipient]>`, live
   * or queued for the device's next login. A sibling of the sender gets `recipient=chat` (Baileys: fromMe).
   */
  private async relay(node: BinaryNode, relays: { device: PairedDevice; enc: BinaryNode }[], phone: string, dev: number): Promise<void> {
    for (const { device, enc } of relays) {
      const attrs: Record<string, string> = {
        from: pnJid(phone, dev),
        id: node.attrs.id ?? '',
        t: String(Math.floor(Date.now() / 1000)),
        type: node.attrs.type ?? 'text',
      };
      if (device.phoneNumber === phone) attrs.recipient = node.attrs.to ?? '';
      const encAttrs = { ...enc.attrs };
      this.toDevice(device, { tag: 'message', attrs, content: [{ tag: 'enc', attrs: encAttrs, content: enc.content }] }, true);
    }
  }

  /** Writes `node` to the device's ready connections, or queues it (when asked) for its next login. */
  private toDevice(device: PairedDevice, node: BinaryNode, queueIfOffline: boolean): 'live' | 'queued' | 'dropped' {
    const conns = this.host.readyConnections(device.key);
    if (conns.length) {
      for (const c of conns) c.send(node);
      // a message stays the server's until the device receipts it: redelivered after a lost connection
      if (node.tag === 'message' && node.attrs.id) {
        const pending = this.inflight.get(device.key) ?? new Map<string, BinaryNode>();
        pending.set(node.attrs.id, node);
        this.inflight.set(device.key, pending);
      }
      return 'live';
    }
    if (!queueIfOffline) return 'dropped';
    const q = this.offlineQueues.get(device.key) ?? [];
    q.push(node);
    this.offlineQueues.set(device.key, q);
    return 'queued';
  }

  // ---- inspection ----

  /** Raw `<message>` frames received with this id. */
  frameCount(id: string): number {
    return this.frames.get(id) ?? 0;
  }

  /** Ids that arrived in more than one raw `<message>` frame, with their counts. */
  duplicateFrames(): { id: string; count: number }[] {
    return [...this.frames].filter(([, n]) => n > 1).map(([id, count]) => ({ id, count }));
  }

  /** Every `<enc>` a simulated device failed to decrypt, as text. */
  messagingErrors(): string[] {
    return [...this.failures];
  }

  /** `<ack>` stanzas companions sent, in order. */
  clientAcks(): ClientAck[] {
    return this.acks.all();
  }
}
