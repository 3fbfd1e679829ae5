import { getBinaryNodeChild, getBinaryNodeChildren, type BinaryNode } from '@whiskeysockets/baileys';
import type { WireBundle } from './signal-peer.js';
import { iqResult } from './stanzas.js';

function uint(value: number, bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  b.writeUIntBE(value, 0, bytes);
  return b;
}

/** `<user jid>…bundle…</user>` exactly under the jid asked (the answered jid is the client's session address). */
function bundleNode(jid: string, b: WireBundle): BinaryNode {
  const content: BinaryNode[] = [
    { tag: 'registration', attrs: {}, content: uint(b.registrationId, 4) },
    { tag: 'type', attrs: {}, content: Buffer.from([5]) },
    { tag: 'identity', attrs: {}, content: b.identity },
    {
      tag: 'skey',
      attrs: {},
      content: [
        { tag: 'id', attrs: {}, content: uint(b.signedPreKey.id, 3) },
        { tag: 'value', attrs: {}, content: b.signedPreKey.publicKey },
        { tag: 'signature', attrs: {}, content: b.signedPreKey.signature },
      ],
    },
  ];
  if (b.preKey) {
    content.push({
      tag: 'key',
      attrs: {},
      content: [
        { tag: 'id', attrs: {}, content: uint(b.preKey.id, 3) },
        { tag: 'value', attrs: {}, content: b.preKey.publicKey },
      ],
    });
  }
  return { tag: 'user', attrs: { jid }, content };
}

/**
 * Answers `<iq xmlns='encrypt' type='get'><key><user jid/>…</key></iq>`: one bundle per user from
 * `bundleFor` (which hands out a one-time pre-key each time), or `<error code='404'/>` for an unknown device.
 */
export function answerKeyFetch(iq: BinaryNode, bundleFor: (jid: string) => WireBundle | undefined): BinaryNode {
  const users = getBinaryNodeChildren(getBinaryNodeChild(iq, 'key'), 'user');
  const list = users.map(u => {
    const jid = u.attrs.jid ?? '';
    const bundle = bundleFor(jid);
    return bundle
      ? bundleNode(jid, bundle)
      : { tag: 'user', attrs: { jid }, content: [{ tag: 'error', attrs: { code: '404', text: 'item-not-found' } }] };
  });
  return iqResult(iq.attrs.id ?? '', [{ tag: 'list', attrs: {}, content: list }]);
}
