import { libsignal, type SignalBundle, type SignalKeyPair, type SignalSessionRecord, type SignalStore } from './signal-lib.js';

/** A peer's key bundle on the wire: raw 32-byte keys, as `<user>` children of a key fetch carry them. */
export interface WireBundle {
  registrationId: number;
  /** 32-byte identity key. */
  identity: Buffer;
  signedPreKey: { id: number; publicKey: Buffer; signature: Buffer };
  preKey?: { id: number; publicKey: Buffer };
}

/** Adds libsignal's 0x05 type prefix to a raw 32-byte key. */
export function signalKey(raw: Uint8Array): Buffer {
  return raw.length === 33 ? Buffer.from(raw) : Buffer.concat([Buffer.from([5]), raw]);
}

/** Strips the 0x05 prefix. */
export function wireKey(key: Uint8Array): Buffer {
  return Buffer.from(key.length === 33 ? key.subarray(1) : key);
}

/** Converts a wire bundle (32-byte keys) to libsignal's shape (33-byte keys). */
export function toSignalBundle(b: WireBundle): SignalBundle {
  return {
    registrationId: b.registrationId,
    identityKey: signalKey(b.identity),
    signedPreKey: { keyId: b.signedPreKey.id, publicKey: signalKey(b.signedPreKey.publicKey), signature: b.signedPreKey.signature },
    ...(b.preKey ? { preKey: { keyId: b.preKey.id, publicKey: signalKey(b.preKey.publicKey) } } : {}),
  };
}

/**
 * One simulated Signal device (a contact's phone, or the account's own phone): its identity,
 * signed pre-key and one-time pre-keys, an in-memory session store, and encrypt/decrypt
 * towards remote devices named `name.device`.
 */
export class SignalPeer {
  readonly registrationId = libsignal.keyhelper.generateRegistrationId();
  readonly identity: SignalKeyPair = libsignal.keyhelper.generateIdentityKeyPair();
  private readonly signedPreKey = libsignal.keyhelper.generateSignedPreKey(this.identity, 1);
  private readonly preKeys = new Map<number, SignalKeyPair>();
  private nextPreKeyId = 1;
  private readonly sessions = new Map<string, SignalSessionRecord>();
  private readonly store: SignalStore;

  constructor() {
    const self = this;
    this.store = {
      getOurIdentity: () => self.identity,
      getOurRegistrationId: () => self.registrationId,
      isTrustedIdentity: () => true,
      loadSession: async id => self.sessions.get(id),
      storeSession: async (id, record) => void self.sessions.set(id, record),
      loadPreKey: async id => self.preKeys.get(Number(id)),
      removePreKey: id => void self.preKeys.delete(Number(id)),
      loadSignedPreKey: () => self.signedPreKey.keyPair,
    };
  }

  /** A fresh bundle for a key fetch: each call mints (and hands out) a new one-time pre-key. */
  bundle(): WireBundle {
    const pk = libsignal.keyhelper.generatePreKey(this.nextPreKeyId++);
    this.preKeys.set(pk.keyId, pk.keyPair);
    return {
      registrationId: this.registrationId,
      identity: wireKey(this.identity.pubKey),
      signedPreKey: {
        id: this.signedPreKey.keyId,
        publicKey: wireKey(this.signedPreKey.keyPair.pubKey),
        signature: Buffer.from(this.signedPreKey.signature),
      },
      preKey: { id: pk.keyId, publicKey: wireKey(pk.keyPair.pubKey) },
    };
  }

  /** Whether an open session towards `name.device` exists. */
  hasSession(name: string, device: number): boolean {
    return this.sessions.get(new libsignal.ProtocolAddress(name, device).toString())?.haveOpenSession() ?? false;
  }

  /** Starts an outgoing session towards `name.device` from its bundle. */
  async startSession(name: string, device: number, bundle: WireBundle): Promise<void> {
    const addr = new libsignal.ProtocolAddress(name, device);
    await new libsignal.SessionBuilder(this.store, addr).initOutgoing(toSignalBundle(bundle));
  }

  /** Encrypts for `name.device`: `pkmsg` until the peer has answered, then `msg`. */
  async encrypt(name: string, device: number, plaintext: Uint8Array): Promise<{ type: 'pkmsg' | 'msg'; ciphertext: Buffer }> {
    const cipher = new libsignal.SessionCipher(this.store, new libsignal.ProtocolAddress(name, device));
    const out = await cipher.encrypt(Buffer.from(plaintext));
    const body = typeof out.body === 'string' ? Buffer.from(out.body, 'binary') : Buffer.from(out.body);
    return { type: out.type === 3 ? 'pkmsg' : 'msg', ciphertext: body };
  }

  /** Decrypts a `pkmsg` or `msg` from `name.device` (padded plaintext). */
  async decrypt(name: string, device: number, type: string, ciphertext: Uint8Array): Promise<Buffer> {
    const cipher = new libsignal.SessionCipher(this.store, new libsignal.ProtocolAddress(name, device));
    const data = Buffer.from(ciphertext);
    if (type === 'pkmsg') return cipher.decryptPreKeyWhisperMessage(data);
    if (type === 'msg') return cipher.decryptWhisperMessage(data);
    throw new Error(`unsupported enc type ${type}`);
  }
}
