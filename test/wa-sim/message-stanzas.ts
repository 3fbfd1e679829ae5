import { randomBytes } from 'node:crypto';
import type { BinaryNode, proto } from '@whiskeysockets/baileys';
import { SERVER_JID } from './stanzas.js';

/** A phone-style message id (`3A` + 18 hex digits). */
export function newMessageId(): string {
  return `3A${randomBytes(9).toString('hex').toUpperCase()}`;
}

/** Stanza `type` WhatsApp uses for a message's content. */
export function stanzaTypeOf(message: proto.IMessage): string {
  if (message.reactionMessage) return 'reaction';
  if (message.imageMessage || message.videoMessage || message.audioMessage || message.documentMessage || message.stickerMessage) {
    return 'media';
  }
  return 'text';
}

/** `mediatype` of the `<enc>` for media, location and contact messages. */
export function encMediaTypeOf(message: proto.IMessage): string | undefined {
  if (message.imageMessage) return 'image';
  if (message.videoMessage) return 'video';
  if (message.audioMessage) return message.audioMessage.ptt ? 'ptt' : 'audio';
  if (message.documentMessage) return 'document';
  if (message.stickerMessage) return 'sticker';
  if (message.locationMessage) return 'location';
  if (message.contactMessage) return 'vcard';
  return undefined;
}

/** Envelope attributes of a contact-sent `<message>`. */
export interface InboundEnvelope {
  id: string;
  from: string;
  t: number;
  type: string;
  notify: string;
  offline?: boolean;
  extra?: Record<string, string>;
}

/** `<message from id t type notify …><enc v='2' type [mediatype]>ct</enc></message>` to a companion. */
export function inboundMessage(env: InboundEnvelope, enc: { type: string; ciphertext: Buffer; mediaType?: string }): BinaryNode {
  const attrs: Record<string, string> = { from: env.from, id: env.id, t: String(env.t), type: env.type, notify: env.notify, ...env.extra };
  if (env.offline) attrs.offline = '1';
  const encAttrs: Record<string, string> = { v: '2', type: enc.type };
  if (enc.mediaType) encAttrs.mediatype = enc.mediaType;
  return { tag: 'message', attrs, content: [{ tag: 'enc', attrs: encAttrs, content: enc.ciphertext }] };
}

/** `<receipt from id t [type]>[<list><item id/>…</list>]</receipt>` from a contact. */
export function inboundReceipt(from: string, ids: string[], t: number, type?: string, extra?: Record<string, string>): BinaryNode {
  const attrs: Record<string, string> = { from, id: ids[0]!, t: String(t), ...extra };
  if (type) attrs.type = type;
  const node: BinaryNode = { tag: 'receipt', attrs };
  if (ids.length > 1) {
    node.content = [{ tag: 'list', attrs: {}, content: ids.slice(1).map(id => ({ tag: 'item', attrs: { id } })) }];
  }
  return node;
}

/** A contact's `<receipt type='retry'>` asking the sending device to re-encrypt message `id`. */
export function retryReceipt(from: string, id: string, t: number, count: number, registrationId: number): BinaryNode {
  const reg = Buffer.alloc(4);
  reg.writeUInt32BE(registrationId);
  return {
    tag: 'receipt',
    attrs: { from, id, t: String(t), type: 'retry' },
    content: [
      { tag: 'retry', attrs: { count: String(count), id, t: String(t), v: '1' } },
      { tag: 'registration', attrs: {}, content: reg },
    ],
  };
}

/** `<chatstate from><composing/>|<paused/></chatstate>` from a contact. */
export function inboundChatstate(from: string, state: 'composing' | 'paused'): BinaryNode {
  return { tag: 'chatstate', attrs: { from }, content: [{ tag: state, attrs: {} }] };
}

/** The server's `<ack class='message' id from t [error]/>` for a companion's message. */
export function messageAck(id: string, from: string, t: number, error?: number): BinaryNode {
  const attrs: Record<string, string> = { class: 'message', id, from, t: String(t) };
  if (error !== undefined) attrs.error = String(error);
  return { tag: 'ack', attrs };
}

/** The server's `<ack class='receipt' id from [type]/>` for a companion's receipt. */
export function receiptAck(id: string, from: string, type?: string): BinaryNode {
  const attrs: Record<string, string> = { class: 'receipt', id, from };
  if (type) attrs.type = type;
  return { tag: 'ack', attrs };
}

export { SERVER_JID };
