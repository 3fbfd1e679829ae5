import { createCipheriv, createDecipheriv, hkdfSync, pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { generateKeyPair, sharedKey, type KeyPair } from './curve.js';
import { gcmDecrypt } from './noise-server.js';

const pbkdf2Async = promisify(pbkdf2);
const PBKDF2_ITERATIONS = 2 << 16; // 131072, as the client uses
const BUNDLE_INFO = 'link_code_pairing_key_bundle_encryption_key';
const ADV_INFO = 'adv_secret';

/** Normalises what a user types (`abcd-efgh`) to the 8-char code the client hashed. */
export function normalisePairingCode(code: string): string {
  return code.replace(/[\s-]/g, '').toUpperCase();
}

async function codeKey(code: string, salt: Uint8Array): Promise<Buffer> {
  return pbkdf2Async(Buffer.from(code, 'utf8'), salt, PBKDF2_ITERATIONS, 32, 'sha256');
}

function ctr(key: Uint8Array, iv: Uint8Array, data: Uint8Array, decrypt: boolean): Buffer {
  const c = decrypt ? createDecipheriv('aes-256-ctr', key, iv) : createCipheriv('aes-256-ctr', key, iv);
  return Buffer.concat([c.update(data), c.final()]);
}

/** Unwraps `salt32 ‖ iv16 ‖ AES-CTR(pub32)` with the code-derived key. */
export async function unwrapEphemeral(code: string, wrapped: Uint8Array): Promise<Buffer> {
  if (wrapped.length < 80) throw new Error('wrapped ephemeral key must be 80 bytes');
  const key = await codeKey(code, wrapped.subarray(0, 32));
  return ctr(key, wrapped.subarray(32, 48), wrapped.subarray(48, 80), true);
}

/** Wraps a public key as `salt32 ‖ iv16 ‖ AES-CTR(pub32)` with the code-derived key. */
export async function wrapEphemeral(code: string, publicKey: Uint8Array): Promise<Buffer> {
  const salt = randomBytes(32);
  const iv = randomBytes(16);
  const key = await codeKey(code, salt);
  return Buffer.concat([salt, iv, ctr(key, iv, publicKey, false)]);
}

/** What the phone sends in its `link_code_companion_reg` notification. */
export interface PrimaryHello {
  readonly ref: Buffer;
  readonly primaryIdentityPublicKey: Buffer;
  readonly wrappedPrimaryEphemeral: Buffer;
}

/** Outcome of the exchange: the companion identity and the ADV secret both sides now share. */
export interface CodePairingResult {
  readonly companionIdentityKey: Buffer;
  readonly advSecret: Buffer;
}

/**
 * The primary phone's half of the 8-character pairing-code exchange
 * (companion_hello → notification → companion_finish).
 */
export class PhoneCodePairing {
  private readonly primaryEphemeral: KeyPair = generateKeyPair();
  private companionEphemeral: Buffer | undefined;
  /** Ref the phone assigns to this exchange. */
  readonly ref = Buffer.from(randomBytes(16).toString('hex'));

  constructor(
    private readonly code: string,
    private readonly primaryIdentity: KeyPair,
  ) {}

  /** "Types" the code: unwraps the companion's ephemeral key and wraps our own. */
  async start(wrappedCompanionEphemeral: Uint8Array): Promise<PrimaryHello> {
    this.companionEphemeral = await unwrapEphemeral(this.code, wrappedCompanionEphemeral);
    return {
      ref: this.ref,
      primaryIdentityPublicKey: this.primaryIdentity.public,
      wrappedPrimaryEphemeral: await wrapEphemeral(this.code, this.primaryEphemeral.public),
    };
  }

  /**
   * Opens the companion's key bundle (`salt32 ‖ iv12 ‖ AES-GCM(compIdent ‖ primIdent ‖ random)`)
   * and derives the ADV secret. Throws when the code was wrong (GCM fails) or keys disagree.
   */
  finish(wrappedKeyBundle: Uint8Array, companionIdentityPublic?: Uint8Array): CodePairingResult {
    if (!this.companionEphemeral) throw new Error('pairing code exchange not started');
    if (wrappedKeyBundle.length < 32 + 12 + 96 + 16) throw new Error('key bundle too short');
    const ephemeralShared = sharedKey(this.primaryEphemeral.private, this.companionEphemeral);
    const salt = wrappedKeyBundle.subarray(0, 32);
    const iv = wrappedKeyBundle.subarray(32, 44);
    const key = Buffer.from(hkdfSync('sha256', ephemeralShared, salt, BUNDLE_INFO, 32));
    let bundle: Buffer;
    try {
      bundle = gcmDecrypt(key, iv, wrappedKeyBundle.subarray(44), Buffer.alloc(0));
    } catch {
      throw new Error('pairing code mismatch: key bundle did not decrypt');
    }
    const companionIdentityKey = bundle.subarray(0, 32);
    const primaryIdentity = bundle.subarray(32, 64);
    const random = bundle.subarray(64, 96);
    if (!primaryIdentity.equals(this.primaryIdentity.public)) throw new Error('key bundle names another primary identity');
    if (companionIdentityPublic && !companionIdentityKey.equals(Buffer.from(companionIdentityPublic))) {
      throw new Error('companion_identity_public differs from the key bundle');
    }
    const identityShared = sharedKey(this.primaryIdentity.private, companionIdentityKey);
    const advSecret = Buffer.from(
      hkdfSync('sha256', Buffer.concat([ephemeralShared, identityShared, random]), Buffer.alloc(0), ADV_INFO, 32),
    );
    return { companionIdentityKey: Buffer.from(companionIdentityKey), advSecret };
  }
}
