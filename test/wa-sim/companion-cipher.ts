import type { PairedDevice, PhoneAccount } from './device-registry.js';
import type { SignalPeer } from './signal-peer.js';

/**
 * Encrypts `plaintext` (already padded) from a simulated device to one companion of `account`,
 * starting the session from the companion's uploaded bundle when there is none (a `pkmsg` then).
 * Returns undefined when the companion never uploaded a bundle and no session exists.
 */
export async function encryptForCompanion(
  peer: SignalPeer,
  account: PhoneAccount,
  device: PairedDevice,
  plaintext: Buffer,
): Promise<{ type: 'pkmsg' | 'msg'; ciphertext: Buffer } | undefined> {
  if (!peer.hasSession(account.phoneNumber, device.deviceId)) {
    if (!device.preKeys.ready) return undefined;
    await peer.startSession(account.phoneNumber, device.deviceId, device.preKeys.take());
  }
  return peer.encrypt(account.phoneNumber, device.deviceId, plaintext);
}
