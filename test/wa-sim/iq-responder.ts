import { createHash } from 'node:crypto';
import { getBinaryNodeChild, getBinaryNodeChildren, type BinaryNode } from '@whiskeysockets/baileys';
import { iqResult } from './stanzas.js';

/** Per-connection state the generic IQ answers read and update. */
export interface IqContext {
  /** One-time pre-keys the server holds for this device. */
  preKeyCount: number;
}

/** What kind of IQ a stanza is, as `xmlns/type/firstChild`. */
export function iqSignature(node: BinaryNode): string {
  const first = Array.isArray(node.content) ? node.content[0]?.tag ?? '' : '';
  return `${node.attrs.xmlns ?? ''}/${node.attrs.type ?? ''}/${first}`;
}

const PROPS_HASH = createHash('sha256').update('wa-sim-props').digest('hex').slice(0, 16);

/**
 * Answers the IQs a logged-in client sends (pre-key count/upload/digest/rotate, passive
 * active, abt props, blocklist, privacy, ping) and any other IQ with an empty result, so
 * the client never stalls on an unanswered query and never sees an `<error>`.
 */
export function answerIq(node: BinaryNode, ctx: IqContext): BinaryNode {
  const id = node.attrs.id ?? '';
  switch (iqSignature(node)) {
    case 'encrypt/get/count':
      return iqResult(id, [{ tag: 'count', attrs: { value: String(ctx.preKeyCount) } }]);
    case 'encrypt/set/registration': {
      const uploaded = getBinaryNodeChildren(getBinaryNodeChild(node, 'list'), 'key').length;
      ctx.preKeyCount += uploaded;
      return iqResult(id);
    }
    case 'encrypt/get/digest':
      return iqResult(id, [{ tag: 'digest', attrs: {} }]);
    case 'abt/get/props':
      return iqResult(id, [{ tag: 'props', attrs: { protocol: '1', hash: PROPS_HASH } }]);
    case 'blocklist/get/':
      return iqResult(id, [{ tag: 'list', attrs: {} }]);
    case 'privacy/get/privacy':
      return iqResult(id, [{ tag: 'privacy', attrs: {} }]);
    default:
      // passive/set/active, w:p/get/ping, encrypt/set/rotate and everything unknown.
      return iqResult(id);
  }
}
