import { createHmac } from 'node:crypto';
import { proto } from '@whiskeysockets/baileys';
import { sign, verify, type KeyPair } from './curve.js';

/** Prefix of the message the account (phone) key signs. */
export const ADV_ACCOUNT_SIG_PREFIX = Buffer.from([6, 0]);
/** Prefix of the message the companion's identity key signs. */
export const ADV_DEVICE_SIG_PREFIX = Buffer.from([6, 1]);

/** Inputs for the pair-success device identity. */
export interface DeviceIdentityInput {
  /** The phone's ADV account key pair. */
  readonly accountKey: KeyPair;
  /** The companion's identity public key (from the QR or the pairing-code key bundle). */
  readonly companionIdentityKey: Uint8Array;
  /** The ADV secret shared with the companion (QR field 4, or derived for pairing codes). */
  readonly advSecret: Uint8Array;
  /** Key index of this companion in the account's device list. */
  readonly keyIndex: number;
  /** Raw device id. */
  readonly rawId: number;
}

/** A built identity: the HMAC wrapper to send and the signed `details` bytes to check against later. */
export interface BuiltDeviceIdentity {
  /** Encoded ADVSignedDeviceIdentityHMAC for `<device-identity>`. */
  readonly hmacWrapped: Buffer;
  /** Encoded ADVDeviceIdentity the companion must echo and countersign. */
  readonly details: Buffer;
}

/**
 * Builds `ADVSignedDeviceIdentityHMAC{details: ADVSignedDeviceIdentity{details, accountSignatureKey,
 * accountSignature}, hmac}` as the primary phone does at pair-success.
 */
export function buildDeviceIdentity(input: DeviceIdentityInput): BuiltDeviceIdentity {
  const details = Buffer.from(
    proto.ADVDeviceIdentity.encode({
      rawId: input.rawId,
      timestamp: Math.floor(Date.now() / 1000),
      keyIndex: input.keyIndex,
      accountType: proto.ADVEncryptionType.E2EE,
      deviceType: proto.ADVEncryptionType.E2EE,
    }).finish(),
  );
  const accountSignature = sign(
    input.accountKey.private,
    Buffer.concat([ADV_ACCOUNT_SIG_PREFIX, details, input.companionIdentityKey]),
  );
  const signed = Buffer.from(
    proto.ADVSignedDeviceIdentity.encode({
      details,
      accountSignatureKey: input.accountKey.public,
      accountSignature,
    }).finish(),
  );
  const hmac = createHmac('sha256', input.advSecret).update(signed).digest();
  const hmacWrapped = Buffer.from(proto.ADVSignedDeviceIdentityHMAC.encode({ details: signed, hmac }).finish());
  return { hmacWrapped, details };
}

/** Why a `pair-device-sign` reply was rejected, or `undefined` when it is valid. */
export type DeviceSignatureProblem = 'missing-identity' | 'details-mismatch' | 'bad-account-signature' | 'bad-device-signature';

/**
 * Verifies the companion's `<pair-device-sign>` identity with a correct XEdDSA verify:
 * the echoed details must be ours, the account signature must still hold, and
 * `deviceSignature` must sign `[6,1] ‖ details ‖ companionIdentity ‖ accountPub`.
 */
export function checkDeviceSignature(
  encoded: Uint8Array | undefined,
  expected: { details: Uint8Array; companionIdentityKey: Uint8Array; accountPublicKey: Uint8Array },
): DeviceSignatureProblem | undefined {
  if (!encoded || encoded.length === 0) return 'missing-identity';
  const identity = proto.ADVSignedDeviceIdentity.decode(encoded);
  if (!identity.details || !Buffer.from(identity.details).equals(Buffer.from(expected.details))) return 'details-mismatch';
  const accountMsg = Buffer.concat([ADV_ACCOUNT_SIG_PREFIX, identity.details, expected.companionIdentityKey]);
  if (!verify(expected.accountPublicKey, accountMsg, identity.accountSignature)) return 'bad-account-signature';
  const deviceMsg = Buffer.concat([
    ADV_DEVICE_SIG_PREFIX,
    identity.details,
    expected.companionIdentityKey,
    expected.accountPublicKey,
  ]);
  if (!verify(expected.companionIdentityKey, deviceMsg, identity.deviceSignature)) return 'bad-device-signature';
  return undefined;
}
