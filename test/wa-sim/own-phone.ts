import { proto } from '@whiskeysockets/baileys';
import { encryptForCompanion } from './companion-cipher.js';
import type { PhoneAccount } from './device-registry.js';
import { padMessage } from './message-padding.js';
import { encMediaTypeOf, inboundMessage, newMessageId, stanzaTypeOf } from './message-stanzas.js';
import type { AccountReceipt, ContactSent, DecryptedMessage, SimOwnPhone } from './messaging-api.js';
import { RecordedList } from './recorded-list.js';
import type { ContactNetwork } from './sim-contact.js';
import { lidJid, parseJid, pnJid } from './sim-jid.js';
import { SignalPeer } from './signal-peer.js';

/** The account's own phone (device 0): a Signal identity of its own that decrypts the companions' copies. */
export class OwnPhone implements SimOwnPhone {
  readonly phone: string;
  readonly jid: string;
  readonly lid: string;
  readonly peer = new SignalPeer();
  private readonly inbox = new RecordedList<DecryptedMessage>();
  private readonly receiptList = new RecordedList<AccountReceipt>();
  private sendChain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly account: PhoneAccount,
    private readonly net: ContactNetwork,
  ) {
    this.phone = account.phoneNumber;
    this.jid = pnJid(account.phoneNumber);
    this.lid = lidJid(account.lidUser);
  }

  send(chat: string, message: proto.IMessage, options: { id?: string; t?: number } = {}): Promise<ContactSent> {
    const run = this.sendChain.then(() => this.sendNow(chat, message, options));
    this.sendChain = run.catch(() => undefined);
    return run;
  }

  private async sendNow(chat: string, message: proto.IMessage, options: { id?: string; t?: number }): Promise<ContactSent> {
    const { user, server } = parseJid(chat);
    const destinationJid = server === 'lid' ? lidJid(user) : pnJid(user);
    const id = options.id ?? newMessageId();
    const t = options.t ?? Math.floor(Date.now() / 1000);
    const wrapped: proto.IMessage = { deviceSentMessage: { destinationJid, message } };
    const plaintext = padMessage(proto.Message.encode(wrapped).finish());
    const env = { id, from: this.jid, t, type: stanzaTypeOf(message), notify: '', extra: { recipient: destinationJid } };
    const mediaType = encMediaTypeOf(message);
    const { live, queued } = await this.net.deliver(
      this.account,
      async device => {
        const enc = await encryptForCompanion(this.peer, this.account, device, plaintext);
        if (!enc) return undefined;
        const node = inboundMessage(env, { ...enc, mediaType });
        delete node.attrs.notify;
        return node;
      },
      true,
    );
    if (live.length + queued.length === 0) throw new Error(`wa-sim: account ${this.phone} has no companion with an uploaded key bundle`);
    return { id, t, liveDevices: live, queuedDevices: queued };
  }

  /** Called by the router with a decrypted copy. */
  recordMessage(m: DecryptedMessage): void {
    this.inbox.push(m);
  }

  /** Called by the router with a receipt a companion addressed to its own user. */
  recordReceipt(r: AccountReceipt): void {
    this.receiptList.push(r);
  }

  received(): DecryptedMessage[] {
    return this.inbox.all();
  }

  waitForMessage(pred: (m: DecryptedMessage) => boolean = () => true, timeoutMs = 10_000): Promise<DecryptedMessage> {
    return this.inbox.waitFor(pred, timeoutMs, `a message to the own phone ${this.phone}`);
  }

  receipts(): AccountReceipt[] {
    return this.receiptList.all();
  }
}
