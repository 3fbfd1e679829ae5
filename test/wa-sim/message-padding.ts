import { randomInt } from 'node:crypto';

/** Appends WhatsApp's random padding: 1–16 bytes, each equal to the pad length. */
export function padMessage(plain: Uint8Array): Buffer {
  const n = randomInt(1, 17);
  return Buffer.concat([Buffer.from(plain), Buffer.alloc(n, n)]);
}

/** Removes the padding (the last byte says how many bytes to drop); throws on a bad pad. */
export function unpadMessage(padded: Uint8Array): Buffer {
  const n = padded[padded.length - 1];
  if (n === undefined || n === 0 || n > padded.length) throw new Error('bad message padding');
  return Buffer.from(padded.subarray(0, padded.length - n));
}
