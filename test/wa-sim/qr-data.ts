/** The fields a phone reads from the companion's QR code. */
export interface QrData {
  readonly ref: string;
  readonly noisePublicKey: Buffer;
  readonly identityPublicKey: Buffer;
  readonly advSecret: Buffer;
  readonly platformId: string;
}

/**
 * Parses `ref,b64(noisePub),b64(identityPub),b64(advSecret),platform`, with or without the
 * `https://wa.me/settings/linked_devices#` prefix the client adds.
 */
export function parseQr(qr: string): QrData {
  const body = qr.includes('#') ? qr.slice(qr.lastIndexOf('#') + 1) : qr;
  const parts = body.split(',');
  if (parts.length < 4) throw new Error(`not a WhatsApp pairing QR: ${qr}`);
  const [ref, noise, identity, adv, platformId = ''] = parts as [string, string, string, string, string?];
  const noisePublicKey = Buffer.from(noise, 'base64');
  const identityPublicKey = Buffer.from(identity, 'base64');
  const advSecret = Buffer.from(adv, 'base64');
  if (noisePublicKey.length !== 32 || identityPublicKey.length !== 32 || advSecret.length !== 32) {
    throw new Error('QR keys must each be 32 bytes');
  }
  return { ref, noisePublicKey, identityPublicKey, advSecret, platformId };
}
