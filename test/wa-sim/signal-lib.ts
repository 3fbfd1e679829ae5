import { createRequire } from 'node:module';

/** A libsignal key pair: `pubKey` is 33 bytes (0x05 ‖ X25519), `privKey` 32 bytes. */
export interface SignalKeyPair {
  pubKey: Buffer;
  privKey: Buffer;
}

/** An opaque libsignal session record (kept in memory by the simulator). */
export interface SignalSessionRecord {
  haveOpenSession(): boolean;
}

/** The storage interface libsignal's builder and cipher call. */
export interface SignalStore {
  getOurIdentity(): SignalKeyPair;
  getOurRegistrationId(): number;
  isTrustedIdentity(id: string, key: Uint8Array, direction?: number): boolean;
  loadSession(id: string): Promise<SignalSessionRecord | undefined>;
  storeSession(id: string, record: SignalSessionRecord): Promise<void>;
  loadPreKey(id: number | string): Promise<SignalKeyPair | undefined>;
  removePreKey(id: number): void;
  loadSignedPreKey(id?: number): SignalKeyPair;
}

/** A peer's key bundle in libsignal's shape (33-byte keys). */
export interface SignalBundle {
  registrationId: number;
  identityKey: Buffer;
  signedPreKey: { keyId: number; publicKey: Buffer; signature: Buffer };
  preKey?: { keyId: number; publicKey: Buffer };
}

interface ProtocolAddressLike {
  toString(): string;
}

/** The part of `libsignal` (the package Baileys depends on) the simulator uses. */
interface LibSignal {
  keyhelper: {
    generateIdentityKeyPair(): SignalKeyPair;
    generateRegistrationId(): number;
    generateSignedPreKey(identity: SignalKeyPair, keyId: number): { keyId: number; keyPair: SignalKeyPair; signature: Buffer };
    generatePreKey(keyId: number): { keyId: number; keyPair: SignalKeyPair };
  };
  ProtocolAddress: new (name: string, deviceId: number) => ProtocolAddressLike;
  SessionBuilder: new (store: SignalStore, addr: ProtocolAddressLike) => { initOutgoing(bundle: SignalBundle): Promise<void> };
  SessionCipher: new (
    store: SignalStore,
    addr: ProtocolAddressLike,
  ) => {
    encrypt(data: Buffer): Promise<{ type: number; body: Buffer | string }>;
    decryptPreKeyWhisperMessage(data: Buffer): Promise<Buffer>;
    decryptWhisperMessage(data: Buffer): Promise<Buffer>;
  };
}

/** `require('libsignal')`, typed to what the simulator needs (its own d.ts omits `keyhelper`). */
export const libsignal = createRequire(import.meta.url)('libsignal') as LibSignal;
