import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/** Media kinds the simulator encrypts and decrypts (HKDF info `WhatsApp <Kind> Keys`). */
export type MediaKind = 'image' | 'video' | 'audio' | 'document' | 'sticker';

const HKDF_INFO: Record<MediaKind, string> = {
  image: 'WhatsApp Image Keys',
  sticker: 'WhatsApp Image Keys',
  video: 'WhatsApp Video Keys',
  audio: 'WhatsApp Audio Keys',
  document: 'WhatsApp Document Keys',
};

/** What the media host stored for one upload, in the fields a `proto.Message` media node carries. */
export interface UploadedMedia {
  /** `https://127.0.0.1:PORT<directPath>`. */
  readonly url: string;
  readonly directPath: string;
  readonly mediaKey: Buffer;
  readonly fileSha256: Buffer;
  readonly fileEncSha256: Buffer;
  readonly fileLength: number;
  /** Unix seconds. */
  readonly mediaKeyTimestamp: number;
}

/** An encrypted blob plus the fields that describe it. */
export interface EncryptedMedia {
  readonly blob: Buffer;
  readonly mediaKey: Buffer;
  readonly fileSha256: Buffer;
  readonly fileEncSha256: Buffer;
  readonly fileLength: number;
}

/** Media keys: `HKDF-SHA256(mediaKey, no salt, info, 112)` → iv 0–16, cipherKey 16–48, macKey 48–80. */
export function mediaKeys(mediaKey: Uint8Array, kind: MediaKind): { iv: Buffer; cipherKey: Buffer; macKey: Buffer } {
  const k = Buffer.from(hkdfSync('sha256', mediaKey, Buffer.alloc(0), HKDF_INFO[kind], 112));
  return { iv: k.subarray(0, 16), cipherKey: k.subarray(16, 48), macKey: k.subarray(48, 80) };
}

function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/** Encrypts media as WhatsApp does: `AES-256-CBC(plain) ‖ HMAC-SHA256(macKey, iv ‖ enc)[0:10]`. */
export function encryptMedia(plain: Uint8Array, kind: MediaKind, mediaKey: Uint8Array = randomBytes(32)): EncryptedMedia {
  const { iv, cipherKey, macKey } = mediaKeys(mediaKey, kind);
  const cipher = createCipheriv('aes-256-cbc', cipherKey, iv);
  const enc = Buffer.concat([cipher.update(plain), cipher.final()]);
  const mac = createHmac('sha256', macKey).update(iv).update(enc).digest().subarray(0, 10);
  const blob = Buffer.concat([enc, mac]);
  return { blob, mediaKey: Buffer.from(mediaKey), fileSha256: sha256(plain), fileEncSha256: sha256(blob), fileLength: plain.length };
}

/** Checks the MAC and decrypts a blob; throws when the MAC or padding is wrong. */
export function decryptMedia(blob: Uint8Array, mediaKey: Uint8Array, kind: MediaKind): Buffer {
  const { iv, cipherKey, macKey } = mediaKeys(mediaKey, kind);
  const data = Buffer.from(blob);
  if (data.length < 26) throw new Error('wa-sim: media blob too short');
  const enc = data.subarray(0, data.length - 10);
  const mac = createHmac('sha256', macKey).update(iv).update(enc).digest().subarray(0, 10);
  if (!timingSafeEqual(mac, data.subarray(data.length - 10))) throw new Error('wa-sim: media MAC mismatch');
  const decipher = createDecipheriv('aes-256-cbc', cipherKey, iv);
  return Buffer.concat([decipher.update(enc), decipher.final()]);
}

/** SHA-256 of `data` (tests compare media by it). */
export function sha256Hex(data: Uint8Array): string {
  return sha256(data).toString('hex');
}
