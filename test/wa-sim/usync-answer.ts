import { getBinaryNodeChild, getBinaryNodeChildren, type BinaryNode } from '@whiskeysockets/baileys';
import { lidJid, parseJid, pnJid } from './sim-jid.js';
import { iqResult, unixNow } from './stanzas.js';

/** A WhatsApp user as the directory knows it: an account (with its devices) or a simulated contact. */
export interface DirectoryUser {
  readonly phone: string;
  readonly lidUser: string;
  /** Devices to list: 0 (the phone) and linked companions with their key index. */
  readonly devices: readonly { id: number; keyIndex?: number }[];
}

function contentText(node: BinaryNode | undefined): string {
  const c = node?.content;
  if (typeof c === 'string') return c;
  if (c instanceof Uint8Array) return Buffer.from(c).toString('utf8');
  return '';
}

/**
 * Answers `<iq xmlns='usync' type='get'>` for the `devices`, `lid` and `contact` protocols (any context):
 * each `<user jid>` (or `<user><contact>+phone</contact></user>`) is echoed under the jid asked with one
 * child per queried protocol; unknown users are `<contact type='out'/>` with no devices and no LID.
 */
export function answerUsync(iq: BinaryNode, lookup: (user: string) => DirectoryUser | undefined): BinaryNode {
  const usync = getBinaryNodeChild(iq, 'usync');
  const protocols = (getBinaryNodeChild(usync, 'query')?.content as BinaryNode[] | undefined)?.map(n => n.tag) ?? [];
  const users = getBinaryNodeChildren(getBinaryNodeChild(usync, 'list'), 'user');
  const out: BinaryNode[] = users.map(u => {
    const contactChild = getBinaryNodeChild(u, 'contact');
    const phone = contentText(contactChild).replace(/^\+/, '');
    const jid = u.attrs.jid ?? pnJid(phone);
    let who: DirectoryUser | undefined;
    try {
      who = lookup(u.attrs.jid ? parseJid(u.attrs.jid).user : phone);
    } catch {
      who = undefined;
    }
    const children: BinaryNode[] = [];
    for (const p of protocols) {
      if (p === 'devices') {
        const list = (who?.devices ?? []).map((d): BinaryNode => ({
          tag: 'device',
          attrs: d.id === 0 ? { id: '0' } : { id: String(d.id), 'key-index': String(d.keyIndex ?? d.id) } as Record<string, string>,
        }));
        children.push({
          tag: 'devices',
          attrs: {},
          content: [
            { tag: 'device-list', attrs: {}, content: list },
            { tag: 'key-index-list', attrs: { ts: unixNow() } },
          ],
        });
      } else if (p === 'lid') {
        if (who) children.push({ tag: 'lid', attrs: { val: lidJid(who.lidUser) } });
      } else if (p === 'contact') {
        children.push({ tag: 'contact', attrs: { type: who ? 'in' : 'out' } });
      }
    }
    return { tag: 'user', attrs: { jid }, content: children };
  });
  return iqResult(iq.attrs.id ?? '', [
    {
      tag: 'usync',
      attrs: { sid: usync?.attrs.sid ?? '', index: '0', last: 'true' },
      content: [{ tag: 'list', attrs: {}, content: out }],
    },
  ]);
}
