import { randomBytes } from 'node:crypto';
import * as curve25519 from 'curve25519-js';

/** A Curve25519 key pair (raw 32-byte keys, no 0x05 type prefix). */
export interface KeyPair {
  readonly public: Buffer;
  readonly private: Buffer;
}

/** Generates a fresh Curve25519 key pair usable for both X25519 and XEdDSA. */
export function generateKeyPair(): KeyPair {
  const kp = curve25519.generateKeyPair(randomBytes(32));
  return { public: Buffer.from(kp.public), private: Buffer.from(kp.private) };
}

/** Strips the Signal 0x05 key-type prefix if present. */
export function rawPublicKey(key: Uint8Array): Buffer {
  return Buffer.from(key.length === 33 && key[0] === 5 ? key.subarray(1) : key);
}

/** X25519 Diffie-Hellman between our private key and a peer public key. */
export function sharedKey(privateKey: Uint8Array, publicKey: Uint8Array): Buffer {
  return Buffer.from(curve25519.sharedKey(privateKey, rawPublicKey(publicKey)));
}

/** XEdDSA signature (64 bytes) over `message`, compatible with libsignal's calculateSignature. */
export function sign(privateKey: Uint8Array, message: Uint8Array): Buffer {
  return Buffer.from(curve25519.sign(privateKey, message, randomBytes(64)));
}

/** Correct XEdDSA verification: returns false for any bad size or signature, never throws. */
export function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array | null | undefined): boolean {
  if (!signature || signature.length !== 64) return false;
  const pub = rawPublicKey(publicKey);
  if (pub.length !== 32) return false;
  try {
    return curve25519.verify(pub, message, signature) === true;
  } catch {
    return false;
  }
}
