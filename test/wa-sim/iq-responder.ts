import { createHash } from 'node:crypto';
import { getBinaryNodeChild, getBinaryNodeChildren, type BinaryNode } from '@whiskeysockets/baileys';
import { iqResult } from './stanzas.js';
import type { UploadedPreKeys } from './uploaded-prekeys.js';

/** Per-connection state the generic IQ answers read and update. */
export interface IqContext {
  /** Pre-key count reported before the device uploaded a bundle. */
  preKeyCount: number;
  /** The device's uploaded bundle (absent on an unknown device). */
  preKeys?: UploadedPreKeys;
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
    case 'encrypt/get/count': {
      // The real count once a bundle was uploaded (one-time keys are used up by key fetches).
      const count = ctx.preKeys?.ready ? ctx.preKeys.count : ctx.preKeyCount;
      return iqResult(id, [{ tag: 'count', attrs: { value: String(count) } }]);
    }
    case 'encrypt/set/registration': {
      if (ctx.preKeys) ctx.preKeys.upload(node);
      else ctx.preKeyCount += getBinaryNodeChildren(getBinaryNodeChild(node, 'list'), 'key').length;
      return iqResult(id);
    }
    case 'encrypt/set/rotate':
      ctx.preKeys?.rotate(node);
      return iqResult(id);
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
