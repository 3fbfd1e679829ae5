import type { proto } from '@whiskeysockets/baileys';
import type { MediaKind, UploadedMedia } from './media-crypto.js';

/** Position of a recorded event on the simulator's clock. */
export interface SimStamp {
  /** Global order of everything the simulator recorded (messages, receipts, chatstates, acks). */
  readonly seq: number;
  /** Arrival time, ms since the epoch. */
  readonly at: number;
}

/** A `<message>` from the account's companion that a simulated device decrypted. */
export interface DecryptedMessage extends SimStamp {
  /** WhatsApp message id (the stanza id). */
  readonly id: string;
  /** Stanza `type` (`text`, `media`, `reaction`, …). */
  readonly type: string;
  /** `mediatype` of the `<enc>`, when present. */
  readonly mediaType?: string;
  /** `pkmsg` or `msg`. */
  readonly encType: string;
  /** Sending companion device, `phone:dev@s.whatsapp.net`. */
  readonly from: string;
  /** The stanza's `to` (the chat as the app addressed it: PN or LID JID). */
  readonly to: string;
  /** The decrypted, unpadded `proto.Message`. */
  readonly message: proto.IMessage;
  /** Error code the server ack carried (message rejected), if any. */
  readonly ackError?: number;
}

/** A `<message>` (or one `<enc>` of it) a simulated device could not decrypt. */
export interface UndecryptableMessage extends SimStamp {
  readonly id: string;
  readonly encType: string;
  readonly from: string;
  readonly to: string;
  /** libsignal's error text. */
  readonly error: string;
  /** `count` of the retry receipt the contact answered with (1, 2, …). */
  readonly retryCount: number;
}

/** A `<receipt>` a companion sent to a contact (delivery / read / …), e.g. after `readMessages`. */
export interface AccountReceipt extends SimStamp {
  /** All ids: the `id` attribute plus `<list><item id/>`. */
  readonly ids: string[];
  /** Receipt `type`; `''` for a plain delivery receipt. `inactive`, `read`, `read-self`, `retry`, … */
  readonly type: string;
  readonly from: string;
  readonly to: string;
}

/** A `<chatstate>` a companion sent to a contact. */
export interface ChatstateRecord extends SimStamp {
  /** `composing`, `paused`, or `recording` (`<composing media='audio'/>`). */
  readonly state: 'composing' | 'paused' | 'recording';
  readonly from: string;
  readonly to: string;
}

/** One entry of a contact's {@link SimContact.timeline}. */
export type TimelineEntry =
  | ({ readonly kind: 'message' } & DecryptedMessage)
  | ({ readonly kind: 'receipt' } & AccountReceipt)
  | ({ readonly kind: 'chatstate' } & ChatstateRecord);

/** An `<ack>` a companion sent to the server (for receipts, failed messages, …). */
export interface ClientAck extends SimStamp {
  readonly id: string;
  readonly class: string;
  readonly type?: string;
  readonly error?: string;
  /** Sending device key `phone:dev`. */
  readonly device: string;
  readonly to: string;
}

/** Options of {@link SimContact.send}. */
export interface ContactSendOptions {
  /** Message id; default a fresh `3A…` id. */
  id?: string;
  /** Envelope form: `pn` (default, `from=phone@s.whatsapp.net`) or `lid` (`from=lid@lid`, `sender_pn`, `addressing_mode='lid'`). */
  addressing?: 'pn' | 'lid';
  /** Also put `sender_lid` on a PN envelope (teaches Baileys the mapping without a usync). Default false. */
  senderLid?: boolean;
  /** `notify` push name; default the contact's name. */
  pushName?: string;
  /** `t` (unix seconds); default now. */
  t?: number;
  /** Mark the stanza `offline` (Baileys upserts it as `append`). Queued deliveries are always offline. */
  offline?: boolean;
}

/** What {@link SimContact.send} did. */
export interface ContactSent {
  readonly id: string;
  readonly t: number;
  /** Companion devices the stanza was written to now. */
  readonly liveDevices: string[];
  /** Companion devices without a live (post-offline) connection: queued for their next login. */
  readonly queuedDevices: string[];
}

/** Fields of a contact-sent media message besides the uploaded blob. */
export interface ContactMediaFields {
  mimetype?: string;
  caption?: string;
  fileName?: string;
  /** Audio only: a voice note. */
  ptt?: boolean;
  seconds?: number;
  contextInfo?: proto.IContextInfo;
}

/** Receipt kinds a contact can send. */
export type ContactReceiptType = 'delivery' | 'read' | 'played';

/** A simulated WhatsApp user (phone device 0) that the account can message and that messages the account. */
export interface SimContact {
  /** Phone digits. */
  readonly phone: string;
  /** `phone@s.whatsapp.net`. */
  readonly jid: string;
  /** `lidUser@lid`. */
  readonly lid: string;
  /** LID user digits. */
  readonly lidUser: string;
  /** Push name (sent as `notify`). */
  readonly name: string;
  /**
   * Encrypts `message` for every linked companion of account `to` (phone digits, `+digits`, PN or LID JID)
   * and delivers it (live, or queued until the device's next login). Resolves once written or queued.
   */
  send(to: string, message: proto.IMessage, options?: ContactSendOptions): Promise<ContactSent>;
  /** `send(to, { conversation: text })`. */
  sendText(to: string, text: string, options?: ContactSendOptions): Promise<ContactSent>;
  /** Encrypts and uploads `bytes` to the media host, then sends the `image/video/audio/documentMessage`. */
  sendMedia(
    to: string,
    kind: MediaKind,
    bytes: Uint8Array,
    fields?: ContactMediaFields,
    options?: ContactSendOptions,
  ): Promise<ContactSent & { media: UploadedMedia }>;
  /**
   * Sends a receipt for `ids` (one, or several as `<list>`) to account `to`. The envelope uses the form the
   * account used for the first id (PN/LID) unless `addressing` says otherwise.
   */
  sendReceipt(to: string, ids: string | string[], type?: ContactReceiptType, options?: { addressing?: 'pn' | 'lid'; t?: number }): void;
  /** Sends `<chatstate><composing/>` / `<paused/>` to the account's live companions. */
  sendChatstate(to: string, state: 'composing' | 'paused'): void;
  /**
   * Messages decrypted from the account (accepted by the server), in arrival order, each id once (as a
   * phone shows them); later copies of an id already received go to {@link duplicates}.
   */
  received(): DecryptedMessage[];
  /** Decrypted copies of ids already in {@link received} (a resend with the same id). */
  duplicates(): DecryptedMessage[];
  /**
   * `<enc>`s this contact could not decrypt. Like a phone, it answered each with a retry receipt
   * (`<receipt type='retry'><retry count/><registration/>`) to the sending device; Baileys then resends
   * the message (same id) from its recent-message cache or `getMessage`.
   */
  undecryptable(): UndecryptableMessage[];
  /** Messages the server rejected with an ack error (see {@link failSends}). */
  rejected(): DecryptedMessage[];
  /** First received message (past or future) matching `pred`; default timeout 10 s. */
  waitForMessage(pred?: (m: DecryptedMessage) => boolean, timeoutMs?: number): Promise<DecryptedMessage>;
  /** Receipts the account's devices sent to this contact. */
  receipts(): AccountReceipt[];
  /** First receipt (past or future) matching `pred`; default timeout 10 s. */
  waitForReceipt(pred?: (r: AccountReceipt) => boolean, timeoutMs?: number): Promise<AccountReceipt>;
  /** Chatstates the account's devices sent to this contact. */
  chatstates(): ChatstateRecord[];
  /** Messages, receipts and chatstates from the account, in `seq` order. */
  timeline(): TimelineEntry[];
  /**
   * The contact reinstalls WhatsApp: a new identity key, registration id and pre-keys; every session is
   * gone. The account's next `msg` fails to decrypt → retry receipt with the new registration id →
   * Baileys drops its session, fetches the new bundle and resends the same id as a `pkmsg`.
   */
  reinstall(): void;
  /**
   * Makes the server reject the account's next `times` messages to this contact (default: until cleared)
   * with `<ack error=code>`, sent `delayMs` after the stanza (default 0). `failSends(undefined)` clears.
   */
  failSends(code: number | undefined, options?: { times?: number; delayMs?: number }): void;
}

/** The account's own phone (device 0 of the account): receives the companion's copies (`deviceSentMessage`). */
export interface SimOwnPhone {
  readonly phone: string;
  readonly jid: string;
  readonly lid: string;
  /** Messages decrypted by the phone, in arrival order (`deviceSentMessage` wrappers for sends to contacts). */
  received(): DecryptedMessage[];
  waitForMessage(pred?: (m: DecryptedMessage) => boolean, timeoutMs?: number): Promise<DecryptedMessage>;
  /** Receipts companions sent to their own user (e.g. `sender`, `peer_msg`). */
  receipts(): AccountReceipt[];
  /**
   * The owner sends `message` to `chat` from the phone itself: every companion gets
   * `<message from=phone recipient=chat>` holding `deviceSentMessage{destinationJid: chat, message}`
   * (Baileys upserts it with `key.fromMe: true`, `remoteJid: chat`). The contact side is not simulated.
   */
  send(chat: string, message: proto.IMessage, options?: { id?: string; t?: number }): Promise<ContactSent>;
}

/** Re-exported media types. */
export type { MediaKind, UploadedMedia };
