import { randomInt } from 'node:crypto';
import { generateKeyPair, type KeyPair } from './curve.js';
import type { UploadedPreKeys } from './uploaded-prekeys.js';

/** One phone number the simulator plays: its ADV account key (also its identity key) and LID. */
export interface PhoneAccount {
  readonly phoneNumber: string;
  /** LID user part (digits) of this account. */
  readonly lidUser: string;
  /** ADV account key pair; doubles as the primary's identity key. */
  readonly accountKey: KeyPair;
  nextDeviceId: number;
  nextKeyIndex: number;
}

/** A companion device linked to a phone. */
export interface PairedDevice {
  /** `phone:device`, the key every per-device API takes. */
  readonly key: string;
  readonly phoneNumber: string;
  readonly deviceId: number;
  /** `phone:device@s.whatsapp.net`. */
  readonly jid: string;
  /** `lid:device@lid`. */
  readonly lid: string;
  readonly keyIndex: number;
  readonly companionIdentityKey: Buffer;
  readonly noiseKey: Buffer;
  readonly pairedAt: Date;
  /** Pre-key count reported until the device uploads its bundle (`initialPreKeyCount`). */
  preKeyCount: number;
  /** The key bundle the device uploaded; its one-time pre-keys are handed out once each. */
  readonly preKeys: UploadedPreKeys;
}

/** Connection figures kept per device key, surviving logout so tests can still read them. */
export interface DeviceStats {
  live: number;
  maxConcurrent: number;
  totalLogins: number;
}

/** Formats the per-device key `phone:device`. */
export function deviceKey(phoneNumber: string, deviceId: number): string {
  return `${phoneNumber}:${deviceId}`;
}

/** Reduces `phone`, `phone:dev`, or a full JID (`phone:dev@s.whatsapp.net`) to `phone` or `phone:dev`. */
export function normaliseJidUser(jidUser: string): string {
  const at = jidUser.indexOf('@');
  return at >= 0 ? jidUser.slice(0, at) : jidUser;
}

/** In-memory store of phone accounts, linked devices and their connection statistics. */
export class DeviceRegistry {
  private readonly accounts = new Map<string, PhoneAccount>();
  private readonly paired = new Map<string, PairedDevice>();
  private readonly statsByKey = new Map<string, DeviceStats>();

  /** Returns (creating on first use) the account for a phone number. */
  account(phoneNumber: string): PhoneAccount {
    let acct = this.accounts.get(phoneNumber);
    if (!acct) {
      acct = {
        phoneNumber,
        lidUser: String(100_000_000_000_000 + randomInt(1, 2 ** 47)),
        accountKey: generateKeyPair(),
        nextDeviceId: 1,
        nextKeyIndex: 1,
      };
      this.accounts.set(phoneNumber, acct);
    }
    return acct;
  }

  /** The account whose phone number or LID user is `user`, if that phone ever paired. */
  findAccount(user: string): PhoneAccount | undefined {
    const direct = this.accounts.get(user);
    if (direct) return direct;
    for (const a of this.accounts.values()) if (a.lidUser === user) return a;
    return undefined;
  }

  /** Linked companions of one phone number. */
  devicesOf(phoneNumber: string): PairedDevice[] {
    return this.list().filter(d => d.phoneNumber === phoneNumber);
  }

  /** Adds a freshly verified companion. */
  add(device: PairedDevice): void {
    this.paired.set(device.key, device);
  }

  /** Looks up a linked device by `phone:device`. */
  find(key: string): PairedDevice | undefined {
    return this.paired.get(key);
  }

  /** Unlinks a device; returns whether it existed. Statistics are kept. */
  forget(key: string): boolean {
    return this.paired.delete(key);
  }

  /** All linked devices. */
  list(): PairedDevice[] {
    return [...this.paired.values()];
  }

  /** Device keys matching `phone` (all its devices ever seen) or `phone:dev` (that one). */
  keysFor(jidUser: string): string[] {
    const user = normaliseJidUser(jidUser);
    if (user.includes(':')) return [user];
    const keys = new Set<string>();
    for (const k of [...this.paired.keys(), ...this.statsByKey.keys()]) {
      if (k.slice(0, k.indexOf(':')) === user) keys.add(k);
    }
    return [...keys];
  }

  /** Statistics of one device key (zeros if never seen). */
  stats(key: string): DeviceStats {
    let s = this.statsByKey.get(key);
    if (!s) {
      s = { live: 0, maxConcurrent: 0, totalLogins: 0 };
      this.statsByKey.set(key, s);
    }
    return s;
  }

  /** Records an accepted login: live count up, peak and total updated. */
  loginOpened(key: string): DeviceStats {
    const s = this.stats(key);
    s.live += 1;
    s.totalLogins += 1;
    s.maxConcurrent = Math.max(s.maxConcurrent, s.live);
    return s;
  }

  /** Starts a new observation window: every device's peak becomes its current live count. */
  resetPeaks(): void {
    for (const s of this.statsByKey.values()) s.maxConcurrent = s.live;
  }

  /** Records the end of a logged-in connection. */
  loginClosed(key: string): void {
    const s = this.stats(key);
    s.live = Math.max(0, s.live - 1);
  }
}
