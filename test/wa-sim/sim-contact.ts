import { proto, type BinaryNode } from '@whiskeysockets/baileys';
import { encryptForCompanion } from './companion-cipher.js';
import type { PairedDevice, PhoneAccount } from './device-registry.js';
import type { MediaHost } from './media-host.js';
import type { MediaKind } from './media-crypto.js';
import { encMediaTypeOf, inboundChatstate, inboundMessage, inboundReceipt, newMessageId, stanzaTypeOf, type InboundEnvelope } from './message-stanzas.js';
import { padMessage } from './message-padding.js';
import type {
  AccountReceipt,
  ChatstateRecord,
  ContactMediaFields,
  ContactReceiptType,
  ContactSendOptions,
  ContactSent,
  DecryptedMessage,
  SimContact,
  SimStamp,
  TimelineEntry,
  UndecryptableMessage,
} from './messaging-api.js';
import { RecordedList } from './recorded-list.js';
import { lidJid, pnJid } from './sim-jid.js';
import { SignalPeer, type WireBundle } from './signal-peer.js';

const DEFAULT_WAIT_MS = 10_000;

/** What a contact needs from the simulator to reach an account. */
export interface ContactNetwork {
  /** The account named by `to` (digits, `+digits`, PN or LID JID); throws when it never paired. */
  resolveAccount(to: string): PhoneAccount;
  /**
   * Builds one stanza per linked companion of `account` (skipping those `build` returns undefined for)
   * and writes it to the device's ready connections, or queues it for the device's next login.
   */
  deliver(account: PhoneAccount, build: (device: PairedDevice) => Promise<BinaryNode | undefined>, queueIfOffline: boolean): Promise<{ live: string[]; queued: string[] }>;
  /** Next stamp on the simulator clock. */
  stamp(): SimStamp;
  readonly media: MediaHost;
}

const MEDIA_FIELD: Record<MediaKind, 'imageMessage' | 'videoMessage' | 'audioMessage' | 'documentMessage' | 'stickerMessage'> = {
  image: 'imageMessage',
  video: 'videoMessage',
  audio: 'audioMessage',
  document: 'documentMessage',
  sticker: 'stickerMessage',
};

const DEFAULT_MIME: Record<MediaKind, string> = {
  image: 'image/jpeg',
  video: 'video/mp4',
  audio: 'audio/ogg; codecs=opus',
  document: 'application/octet-stream',
  sticker: 'image/webp',
};

/** A simulated contact: its own Signal identity (device 0), a PN and a LID, and everything it saw. */
export class Contact implements SimContact {
  readonly jid: string;
  readonly lid: string;
  /** The contact's Signal device (replaced by {@link reinstall}). */
  peer = new SignalPeer();
  private readonly inbox = new RecordedList<DecryptedMessage>();
  private readonly rejectedList = new RecordedList<DecryptedMessage>();
  private readonly duplicateList = new RecordedList<DecryptedMessage>();
  private readonly undecryptableList = new RecordedList<UndecryptableMessage>();
  private readonly seenIds = new Set<string>();
  private readonly retries = new Map<string, number>();
  private readonly receiptList = new RecordedList<AccountReceipt>();
  private readonly chatstateList = new RecordedList<ChatstateRecord>();
  private failure: { code: number; remaining: number; delayMs: number } | undefined;
  private sendChain: Promise<unknown> = Promise.resolve();
  /** What this contact sent, by id, so a retry receipt can be answered. */
  private readonly sent = new Map<string, { account: PhoneAccount; env: InboundEnvelope; message: proto.IMessage; mediaType: string | undefined }>();

  constructor(
    readonly phone: string,
    readonly lidUser: string,
    readonly name: string,
    private readonly net: ContactNetwork,
  ) {
    this.jid = pnJid(phone);
    this.lid = lidJid(lidUser);
  }

  // ---- sending to the account ----

  send(to: string, message: proto.IMessage, options: ContactSendOptions = {}): Promise<ContactSent> {
    const run = this.sendChain.then(() => this.sendNow(to, message, options));
    this.sendChain = run.catch(() => undefined);
    return run;
  }

  private async sendNow(to: string, message: proto.IMessage, options: ContactSendOptions): Promise<ContactSent> {
    const account = this.net.resolveAccount(to);
    const id = options.id ?? newMessageId();
    const t = options.t ?? Math.floor(Date.now() / 1000);
    const plaintext = padMessage(proto.Message.encode(message).finish());
    const lid = options.addressing === 'lid';
    const extra: Record<string, string> = lid
      ? { sender_pn: this.jid, addressing_mode: 'lid' }
      : options.senderLid
        ? { sender_lid: this.lid }
        : {};
    const env = { id, from: lid ? this.lid : this.jid, t, type: stanzaTypeOf(message), notify: options.pushName ?? this.name, offline: options.offline, extra };
    const mediaType = encMediaTypeOf(message);
    this.sent.set(id, { account, env, message, mediaType });
    const { live, queued } = await this.net.deliver(
      account,
      async device => {
        const enc = await encryptForCompanion(this.peer, account, device, plaintext);
        return enc && inboundMessage(env, { ...enc, mediaType });
      },
      true,
    );
    if (live.length + queued.length === 0) throw new Error(`wa-sim: account ${account.phoneNumber} has no companion with an uploaded key bundle`);
    return { id, t, liveDevices: live, queuedDevices: queued };
  }

  sendText(to: string, text: string, options?: ContactSendOptions): Promise<ContactSent> {
    return this.send(to, { conversation: text }, options);
  }

  async sendMedia(
    to: string,
    kind: MediaKind,
    bytes: Uint8Array,
    fields: ContactMediaFields = {},
    options?: ContactSendOptions,
  ): Promise<ContactSent & { media: ReturnType<MediaHost['upload']> }> {
    const media = this.net.media.upload(bytes, kind);
    const node: Record<string, unknown> = {
      url: media.url,
      directPath: media.directPath,
      mediaKey: media.mediaKey,
      fileSha256: media.fileSha256,
      fileEncSha256: media.fileEncSha256,
      fileLength: media.fileLength,
      mediaKeyTimestamp: media.mediaKeyTimestamp,
      mimetype: fields.mimetype ?? DEFAULT_MIME[kind],
    };
    if (fields.caption !== undefined && kind !== 'audio' && kind !== 'sticker') node.caption = fields.caption;
    if (fields.fileName !== undefined && kind === 'document') node.fileName = fields.fileName;
    if (kind === 'audio') {
      node.ptt = fields.ptt ?? false;
      if (fields.seconds !== undefined) node.seconds = fields.seconds;
    }
    if (kind === 'video' && fields.seconds !== undefined) node.seconds = fields.seconds;
    if (fields.contextInfo) node.contextInfo = fields.contextInfo;
    const sent = await this.send(to, { [MEDIA_FIELD[kind]]: node } as proto.IMessage, options);
    return { ...sent, media };
  }

  sendReceipt(to: string, ids: string | string[], type: ContactReceiptType = 'delivery', options: { addressing?: 'pn' | 'lid'; t?: number } = {}): void {
    const list = Array.isArray(ids) ? ids : [ids];
    if (list.length === 0) throw new Error('wa-sim: sendReceipt needs at least one id');
    const account = this.net.resolveAccount(to);
    const first = this.inbox.all().find(m => m.id === list[0]) ?? this.rejectedList.all().find(m => m.id === list[0]);
    const lid = options.addressing ? options.addressing === 'lid' : (first?.to.endsWith('@lid') ?? false);
    const node = inboundReceipt(lid ? this.lid : this.jid, list, options.t ?? Math.floor(Date.now() / 1000), type === 'delivery' ? undefined : type);
    void this.net.deliver(account, async () => node, true);
  }

  sendChatstate(to: string, state: 'composing' | 'paused'): void {
    const account = this.net.resolveAccount(to);
    const node = inboundChatstate(this.jid, state);
    void this.net.deliver(account, async () => node, false);
  }

  // ---- what the account sent ----

  /** Called by the router: the server's ack decision for the next message to this contact. */
  takeAckError(): { code: number; delayMs: number } | undefined {
    const f = this.failure;
    if (!f || f.remaining <= 0) return undefined;
    f.remaining -= 1;
    return { code: f.code, delayMs: f.delayMs };
  }

  /** Called by the router with a decrypted message. */
  recordMessage(m: DecryptedMessage): void {
    if (m.ackError !== undefined) this.rejectedList.push(m);
    else if (this.seenIds.has(m.id)) this.duplicateList.push(m);
    else {
      this.seenIds.add(m.id);
      this.inbox.push(m);
    }
  }

  /** Called by the router when an `<enc>` failed to decrypt; returns the retry count to answer with. */
  recordUndecryptable(m: Omit<UndecryptableMessage, 'retryCount'>): number {
    const retryCount = (this.retries.get(m.id) ?? 0) + 1;
    this.retries.set(m.id, retryCount);
    this.undecryptableList.push({ ...m, retryCount });
    return retryCount;
  }

  duplicates(): DecryptedMessage[] {
    return this.duplicateList.all();
  }

  undecryptable(): UndecryptableMessage[] {
    return this.undecryptableList.all();
  }

  /** Called by the router with a receipt addressed to this contact. */
  recordReceipt(r: AccountReceipt): void {
    this.receiptList.push(r);
  }

  /** Called by the router with a chatstate addressed to this contact. */
  recordChatstate(c: ChatstateRecord): void {
    this.chatstateList.push(c);
  }

  received(): DecryptedMessage[] {
    return this.inbox.all();
  }

  rejected(): DecryptedMessage[] {
    return this.rejectedList.all();
  }

  waitForMessage(pred: (m: DecryptedMessage) => boolean = () => true, timeoutMs = DEFAULT_WAIT_MS): Promise<DecryptedMessage> {
    return this.inbox.waitFor(pred, timeoutMs, `a message to contact ${this.phone}`);
  }

  receipts(): AccountReceipt[] {
    return this.receiptList.all();
  }

  waitForReceipt(pred: (r: AccountReceipt) => boolean = () => true, timeoutMs = DEFAULT_WAIT_MS): Promise<AccountReceipt> {
    return this.receiptList.waitFor(pred, timeoutMs, `a receipt to contact ${this.phone}`);
  }

  chatstates(): ChatstateRecord[] {
    return this.chatstateList.all();
  }

  timeline(): TimelineEntry[] {
    const all: TimelineEntry[] = [
      ...this.inbox.all().map(m => ({ kind: 'message' as const, ...m })),
      ...this.receiptList.all().map(r => ({ kind: 'receipt' as const, ...r })),
      ...this.chatstateList.all().map(c => ({ kind: 'chatstate' as const, ...c })),
    ];
    return all.sort((a, b) => a.seq - b.seq);
  }

  /**
   * Called by the router on a companion's retry receipt for message `id`: re-encrypts it for that device
   * (starting a new session from `bundle` when the receipt carried keys) as `<message … ><enc count=N>`.
   * Undefined when this contact never sent `id`.
   */
  async reencrypt(id: string, device: PairedDevice, count: number, bundle: WireBundle | undefined): Promise<BinaryNode | undefined> {
    const sent = this.sent.get(id);
    if (!sent) return undefined;
    const { account } = sent;
    if (bundle) await this.peer.startSession(account.phoneNumber, device.deviceId, bundle);
    const enc = await encryptForCompanion(this.peer, account, device, padMessage(proto.Message.encode(sent.message).finish()));
    if (!enc) return undefined;
    const node = inboundMessage({ ...sent.env, offline: false }, { ...enc, mediaType: sent.mediaType });
    const encNode = (node.content as BinaryNode[])[0]!;
    encNode.attrs.count = String(count);
    return node;
  }

  reinstall(): void {
    this.peer = new SignalPeer();
  }

  failSends(code: number | undefined, options: { times?: number; delayMs?: number } = {}): void {
    this.failure = code === undefined ? undefined : { code, remaining: options.times ?? Infinity, delayMs: options.delayMs ?? 0 };
  }
}
