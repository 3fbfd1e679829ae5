import { getBinaryNodeChild, getBinaryNodeChildBuffer, getBinaryNodeChildren, type BinaryNode } from '@whiskeysockets/baileys';
import type { WireBundle } from './signal-peer.js';

function uint(buf: Uint8Array | undefined): number {
  if (!buf) throw new Error('missing integer');
  return Buffer.from(buf).readUIntBE(0, buf.length);
}

function signedKey(skey: BinaryNode | undefined): WireBundle['signedPreKey'] {
  if (!skey) throw new Error('missing <skey>');
  return {
    id: uint(getBinaryNodeChildBuffer(skey, 'id')),
    publicKey: Buffer.from(getBinaryNodeChildBuffer(skey, 'value') ?? []),
    signature: Buffer.from(getBinaryNodeChildBuffer(skey, 'signature') ?? []),
  };
}

/**
 * The key bundle a companion uploaded (`encrypt/set <registration>…`): registration id,
 * identity, signed pre-key and its one-time pre-keys, each handed out at most once.
 */
export class UploadedPreKeys {
  private registrationId = 0;
  private identity = Buffer.alloc(0);
  private signedPreKey: WireBundle['signedPreKey'] | undefined;
  private readonly preKeys = new Map<number, Buffer>();

  /** One-time pre-keys still held (what `encrypt/get <count/>` reports). */
  get count(): number {
    return this.preKeys.size;
  }

  /** Whether a full bundle (identity + signed pre-key) was uploaded. */
  get ready(): boolean {
    return this.signedPreKey !== undefined;
  }

  /** Applies an upload IQ; returns how many one-time keys it added. */
  upload(iq: BinaryNode): number {
    this.registrationId = uint(getBinaryNodeChildBuffer(iq, 'registration'));
    this.identity = Buffer.from(getBinaryNodeChildBuffer(iq, 'identity') ?? []);
    this.signedPreKey = signedKey(getBinaryNodeChild(iq, 'skey'));
    let added = 0;
    for (const key of getBinaryNodeChildren(getBinaryNodeChild(iq, 'list'), 'key')) {
      this.preKeys.set(uint(getBinaryNodeChildBuffer(key, 'id')), Buffer.from(getBinaryNodeChildBuffer(key, 'value') ?? []));
      added += 1;
    }
    return added;
  }

  /** Applies `encrypt/set <rotate><skey/></rotate>`. */
  rotate(iq: BinaryNode): void {
    this.signedPreKey = signedKey(getBinaryNodeChild(getBinaryNodeChild(iq, 'rotate'), 'skey'));
  }

  /** Drops one-time pre-keys until `leave` remain (fault injection); returns how many were dropped. */
  drain(leave: number): number {
    let dropped = 0;
    for (const id of [...this.preKeys.keys()]) {
      if (this.preKeys.size <= leave) break;
      this.preKeys.delete(id);
      dropped += 1;
    }
    return dropped;
  }

  /** Hands out the bundle with the lowest unused one-time pre-key (none left: a bundle without one). */
  take(): WireBundle {
    if (!this.signedPreKey) throw new Error('no key bundle uploaded');
    const first = this.preKeys.keys().next();
    let preKey: WireBundle['preKey'];
    if (!first.done) {
      preKey = { id: first.value, publicKey: this.preKeys.get(first.value)! };
      this.preKeys.delete(first.value);
    }
    return { registrationId: this.registrationId, identity: this.identity, signedPreKey: this.signedPreKey, ...(preKey ? { preKey } : {}) };
  }
}
