import { getBinaryNodeChild } from '@whiskeysockets/baileys';
import { buildDeviceIdentity, checkDeviceSignature } from './adv-identity.js';
import { deviceKey, type DeviceRegistry, type PairedDevice } from './device-registry.js';
import type { SimConnection } from './sim-connection.js';
import { newStanzaId, pairSuccess, streamError } from './stanzas.js';
import { UploadedPreKeys } from './uploaded-prekeys.js';

/** What the phone knows about the companion when it confirms the link. */
export interface PairingInput {
  readonly phoneNumber: string;
  /** Companion identity public key (signedIdentityKey.public). */
  readonly companionIdentityKey: Buffer;
  /** ADV secret shared with the companion. */
  readonly advSecret: Buffer;
  /** How long to wait for the companion's `pair-device-sign` reply. */
  readonly timeoutMs: number;
  /** Pre-key count the server reports for the new device until it uploads. */
  readonly initialPreKeyCount: number;
}

/** Error raised when the companion's pairing reply is missing or does not verify. */
export class PairingRejectedError extends Error {
  override readonly name = 'PairingRejectedError';
}

/**
 * Plays the phone confirming a link (QR step 5–7): sends pair-success with a signed, HMACed
 * device identity, verifies the companion's `pair-device-sign` countersignature with a
 * correct XEdDSA verify, registers the device, then sends `<stream:error code='515'/>`.
 * A bad countersignature ends the stream with code 500 and rejects.
 */
export async function confirmPairing(conn: SimConnection, registry: DeviceRegistry, input: PairingInput): Promise<PairedDevice> {
  const account = registry.account(input.phoneNumber);
  const deviceId = account.nextDeviceId++;
  const keyIndex = account.nextKeyIndex++;
  const jid = `${input.phoneNumber}:${deviceId}@s.whatsapp.net`;
  const lid = `${account.lidUser}:${deviceId}@lid`;
  const built = buildDeviceIdentity({
    accountKey: account.accountKey,
    companionIdentityKey: input.companionIdentityKey,
    advSecret: input.advSecret,
    keyIndex,
    rawId: deviceId,
  });
  const id = newStanzaId();
  const replyPromise = conn.waitForResult(id, input.timeoutMs);
  conn.send(pairSuccess(id, built.hmacWrapped, jid, lid));
  const reply = await replyPromise;
  if (reply.attrs.type !== 'result') throw new PairingRejectedError(`companion answered pair-success with type=${reply.attrs.type}`);
  const identityNode = getBinaryNodeChild(getBinaryNodeChild(reply, 'pair-device-sign'), 'device-identity');
  const content = identityNode?.content;
  const problem = checkDeviceSignature(content instanceof Uint8Array ? content : undefined, {
    details: built.details,
    companionIdentityKey: input.companionIdentityKey,
    accountPublicKey: account.accountKey.public,
  });
  if (problem === undefined && identityNode?.attrs['key-index'] !== String(keyIndex)) {
    conn.send(streamError(500, { tag: 'bad-key-index', attrs: {} }));
    throw new PairingRejectedError(`pair-device-sign key-index ${identityNode?.attrs['key-index']} != ${keyIndex}`);
  }
  if (problem) {
    conn.send(streamError(500, { tag: problem, attrs: {} }));
    throw new PairingRejectedError(`pair-device-sign rejected: ${problem}`);
  }
  const device: PairedDevice = {
    key: deviceKey(input.phoneNumber, deviceId),
    phoneNumber: input.phoneNumber,
    deviceId,
    jid,
    lid,
    keyIndex,
    companionIdentityKey: input.companionIdentityKey,
    noiseKey: conn.clientStaticKey ?? Buffer.alloc(0),
    pairedAt: new Date(),
    preKeyCount: input.initialPreKeyCount,
    preKeys: new UploadedPreKeys(),
  };
  registry.add(device);
  conn.send(streamError(515));
  return device;
}
