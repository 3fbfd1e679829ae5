import { randomBytes } from 'node:crypto';
import type { BinaryNode } from '@whiskeysockets/baileys';

/** The server's own address on every stanza it sends. */
export const SERVER_JID = 's.whatsapp.net';

/** Current unix time in seconds, as a string attribute. */
export function unixNow(): string {
  return String(Math.floor(Date.now() / 1000));
}

/** A fresh server-side stanza id. */
export function newStanzaId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

/** `<iq from='s.whatsapp.net' type='result' id=…>` answering a client query, with optional children. */
export function iqResult(id: string, content?: BinaryNode[]): BinaryNode {
  const node: BinaryNode = { tag: 'iq', attrs: { from: SERVER_JID, type: 'result', id } };
  if (content && content.length) node.content = content;
  return node;
}

/** `<iq type='set'><pair-device><ref/>…</pair-device></iq>` offering QR refs. */
export function pairDevice(id: string, refs: readonly string[]): BinaryNode {
  return {
    tag: 'iq',
    attrs: { from: SERVER_JID, type: 'set', id, xmlns: 'md' },
    content: [
      {
        tag: 'pair-device',
        attrs: {},
        content: refs.map(ref => ({ tag: 'ref', attrs: {}, content: Buffer.from(ref, 'utf8') })),
      },
    ],
  };
}

/** `<iq type='set'><pair-success>…</pair-success></iq>` carrying the signed device identity. */
export function pairSuccess(id: string, identity: Uint8Array, jid: string, lid: string): BinaryNode {
  return {
    tag: 'iq',
    attrs: { from: SERVER_JID, type: 'set', id, xmlns: 'md', t: unixNow() },
    content: [
      {
        tag: 'pair-success',
        attrs: {},
        content: [
          { tag: 'device-identity', attrs: {}, content: identity },
          { tag: 'platform', attrs: { name: 'smba' } },
          { tag: 'device', attrs: { jid, lid } },
        ],
      },
    ],
  };
}

/** Phone → companion notification of the pairing-code exchange. */
export function linkCodeNotification(ref: Uint8Array, primaryIdentity: Uint8Array, wrappedPrimaryEphemeral: Uint8Array): BinaryNode {
  return {
    tag: 'notification',
    attrs: { from: SERVER_JID, type: 'link_code_companion_reg', id: newStanzaId(), t: unixNow() },
    content: [
      {
        tag: 'link_code_companion_reg',
        attrs: {},
        content: [
          { tag: 'link_code_pairing_ref', attrs: {}, content: ref },
          { tag: 'primary_identity_pub', attrs: {}, content: primaryIdentity },
          { tag: 'link_code_pairing_wrapped_primary_ephemeral_pub', attrs: {}, content: wrappedPrimaryEphemeral },
        ],
      },
    ],
  };
}

/** `<success t lid/>` completing a login. */
export function loginSuccess(lid: string): BinaryNode {
  return { tag: 'success', attrs: { t: unixNow(), lid, props: '0', abprops: '0', location: 'sim' } };
}

/** `<failure reason=N/>` refusing a login (401 logged out, 403 forbidden, …). */
export function loginFailure(reason: number): BinaryNode {
  return { tag: 'failure', attrs: { reason: String(reason), location: 'sim' } };
}

/** `<ib><offline count=N/></ib>`: the end of the offline backlog (N stanzas were queued); the client flushes its buffer. */
export function offlineDone(count = 0): BinaryNode {
  return { tag: 'ib', attrs: { from: SERVER_JID }, content: [{ tag: 'offline', attrs: { count: String(count) } }] };
}

/** `<stream:error code=N/>` with an optional reason child (515 restart, …). */
export function streamError(code?: number, child?: BinaryNode): BinaryNode {
  const node: BinaryNode = { tag: 'stream:error', attrs: code === undefined ? {} : { code: String(code) } };
  if (child) node.content = [child];
  return node;
}

/** `<stream:error><conflict type='replaced'/></stream:error>`: another connection took over (440). */
export function conflictReplaced(): BinaryNode {
  return streamError(undefined, { tag: 'conflict', attrs: { type: 'replaced' } });
}

/** `<stream:error code='401'><conflict type='device_removed'/></stream:error>`: unlinked from the phone. */
export function deviceRemoved(): BinaryNode {
  return streamError(401, { tag: 'conflict', attrs: { type: 'device_removed' } });
}

/** `<xmlstreamend/>`: the server ends the stream (client reports 428). */
export function streamEnd(): BinaryNode {
  return { tag: 'xmlstreamend', attrs: {} };
}
