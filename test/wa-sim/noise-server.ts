import { createCipheriv, createDecipheriv, createHash, hkdfSync } from 'node:crypto';
import { NOISE_MODE, proto } from '@whiskeysockets/baileys';
import { generateKeyPair, sharedKey, type KeyPair } from './curve.js';
import { MalformedFrameError } from './frame-codec.js';

const TAG_LENGTH = 16;
const EMPTY = Buffer.alloc(0);

function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

function hkdf64(ikm: Uint8Array, salt: Uint8Array): [Buffer, Buffer] {
  const out = Buffer.from(hkdfSync('sha256', ikm, salt, EMPTY, 64));
  return [out.subarray(0, 32), out.subarray(32)];
}

function nonce(counter: number): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(counter >>> 0, 8);
  return iv;
}

/** AES-256-GCM encrypt with the tag appended (the client's layout). */
export function gcmEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(aad);
  return Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
}

/** AES-256-GCM decrypt of `ciphertext ‖ tag`; throws if authentication fails. */
export function gcmDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array, aad: Uint8Array): Buffer {
  if (data.length < TAG_LENGTH) throw new MalformedFrameError('ciphertext shorter than GCM tag');
  const d = createDecipheriv('aes-256-gcm', key, iv);
  d.setAAD(aad);
  d.setAuthTag(data.subarray(data.length - TAG_LENGTH));
  return Buffer.concat([d.update(data.subarray(0, data.length - TAG_LENGTH)), d.final()]);
}

/** Post-handshake cipher pair: independent keys and counters per direction, empty AAD. */
export class NoiseTransport {
  private readCounter = 0;
  private writeCounter = 0;

  constructor(
    private readonly encKey: Buffer,
    private readonly decKey: Buffer,
  ) {}

  /** Encrypts one outgoing frame payload. */
  encrypt(plaintext: Uint8Array): Buffer {
    return gcmEncrypt(this.encKey, nonce(this.writeCounter++), plaintext, EMPTY);
  }

  /** Decrypts one incoming frame payload. */
  decrypt(ciphertext: Uint8Array): Buffer {
    return gcmDecrypt(this.decKey, nonce(this.readCounter++), ciphertext, EMPTY);
  }
}

/** Result of a completed handshake. */
export interface HandshakeResult {
  /** The client's static Noise public key (creds.noiseKey.public). */
  readonly clientStaticKey: Buffer;
  /** The decrypted ClientPayload (registration or login). */
  readonly payload: proto.ClientPayload;
  /** Cipher state for all later frames. */
  readonly transport: NoiseTransport;
}

/**
 * Server side of WhatsApp's Noise_XX_25519_AESGCM_SHA256 handshake. Mirrors the client's
 * symmetric state exactly: one running hash `h`, chaining key `ck`, one cipher key and a
 * nonce counter that resets on every MixKey.
 */
export class NoiseServerHandshake {
  private hash: Buffer;
  private chainingKey: Buffer;
  private cipherKey: Buffer;
  private counter = 0;
  private readonly ephemeral: KeyPair = generateKeyPair();
  private clientEphemeral: Buffer | undefined;

  constructor(
    header: Uint8Array,
    private readonly staticKey: KeyPair,
    private readonly certChain: Uint8Array,
  ) {
    const mode = Buffer.from(NOISE_MODE);
    this.hash = mode.length === 32 ? mode : sha256(mode);
    this.chainingKey = this.hash;
    this.cipherKey = this.hash;
    this.mixHash(header);
  }

  /** Consumes the ClientHello frame and returns the encoded ServerHello HandshakeMessage. */
  respondToClientHello(frame: Uint8Array): Buffer {
    const msg = proto.HandshakeMessage.decode(frame);
    const e = msg.clientHello?.ephemeral;
    if (!e || e.length !== 32) throw new MalformedFrameError('client hello without 32-byte ephemeral');
    this.clientEphemeral = Buffer.from(e);
    this.mixHash(this.clientEphemeral);
    this.mixHash(this.ephemeral.public);
    this.mixKey(sharedKey(this.ephemeral.private, this.clientEphemeral));
    const encStatic = this.encrypt(this.staticKey.public);
    this.mixKey(sharedKey(this.staticKey.private, this.clientEphemeral));
    const encPayload = this.encrypt(this.certChain);
    return Buffer.from(
      proto.HandshakeMessage.encode({
        serverHello: { ephemeral: this.ephemeral.public, static: encStatic, payload: encPayload },
      }).finish(),
    );
  }

  /** Consumes the ClientFinish frame; returns the client payload and the transport ciphers. */
  readClientFinish(frame: Uint8Array): HandshakeResult {
    if (!this.clientEphemeral) throw new MalformedFrameError('client finish before client hello');
    const msg = proto.HandshakeMessage.decode(frame);
    const encStatic = msg.clientFinish?.static;
    const encPayload = msg.clientFinish?.payload;
    if (!encStatic || !encPayload) throw new MalformedFrameError('client finish without static/payload');
    const clientStaticKey = this.decrypt(encStatic);
    if (clientStaticKey.length !== 32) throw new MalformedFrameError('client static key is not 32 bytes');
    this.mixKey(sharedKey(this.ephemeral.private, clientStaticKey));
    const payload = proto.ClientPayload.decode(this.decrypt(encPayload));
    const [clientToServer, serverToClient] = hkdf64(EMPTY, this.chainingKey);
    return { clientStaticKey, payload, transport: new NoiseTransport(serverToClient, clientToServer) };
  }

  private mixHash(data: Uint8Array): void {
    this.hash = sha256(this.hash, data);
  }

  private mixKey(ikm: Uint8Array): void {
    const [ck, k] = hkdf64(ikm, this.chainingKey);
    this.chainingKey = ck;
    this.cipherKey = k;
    this.counter = 0;
  }

  private encrypt(plaintext: Uint8Array): Buffer {
    const ct = gcmEncrypt(this.cipherKey, nonce(this.counter++), plaintext, this.hash);
    this.mixHash(ct);
    return ct;
  }

  private decrypt(ciphertext: Uint8Array): Buffer {
    const pt = gcmDecrypt(this.cipherKey, nonce(this.counter++), ciphertext, this.hash);
    this.mixHash(ciphertext);
    return pt;
  }
}
