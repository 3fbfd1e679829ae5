import type { AccountReceipt, DecryptedMessage, SimOwnPhone } from './messaging-api.js';
import { RecordedList } from './recorded-list.js';
import { lidJid, pnJid } from './sim-jid.js';
import { SignalPeer } from './signal-peer.js';

/** The account's own phone (device 0): a Signal identity of its own that decrypts the companions' copies. */
export class OwnPhone implements SimOwnPhone {
  readonly jid: string;
  readonly lid: string;
  readonly peer = new SignalPeer();
  private readonly inbox = new RecordedList<DecryptedMessage>();
  private readonly receiptList = new RecordedList<AccountReceipt>();

  constructor(
    readonly phone: string,
    lidUser: string,
  ) {
    this.jid = pnJid(phone);
    this.lid = lidJid(lidUser);
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

  waitForMessage(pred: (m: DecryptedMessage) => boolean = () => true, timeoutMs = 5_000): Promise<DecryptedMessage> {
    return this.inbox.waitFor(pred, timeoutMs, `a message to the own phone ${this.phone}`);
  }

  receipts(): AccountReceipt[] {
    return this.receiptList.all();
  }
}
