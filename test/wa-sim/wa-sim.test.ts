import { Curve } from '@whiskeysockets/baileys';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { ADV_DEVICE_SIG_PREFIX, buildDeviceIdentity, checkDeviceSignature } from './adv-identity.js';
import { connectClient, type ClientTimings, type SimClient } from './baileys-client.js';
import { generateKeyPair, sign } from './curve.js';
import { makeMemoryAuthState } from './memory-auth-state.js';
import { startWaSimulator, type WaSimulator } from './wa-simulator.js';
import type { AuthenticationState } from '@whiskeysockets/baileys';
import { proto } from '@whiskeysockets/baileys';

const clients: SimClient[] = [];

function connect(sim: WaSimulator, auth: AuthenticationState, timings?: ClientTimings): SimClient {
  const c = connectClient(sim, auth, timings);
  clients.push(c);
  return c;
}

/** QR-pairs a fresh auth state for `phone`; returns it after the 515 close. */
async function pairByQr(sim: WaSimulator, phoneNumber: string): Promise<{ auth: AuthenticationState; key: string }> {
  const auth = makeMemoryAuthState();
  const c = connect(sim, auth);
  const qr = await c.firstQr;
  const device = await sim.scanQr(qr, { phoneNumber });
  expect(await c.closed).toBe(515);
  return { auth, key: device.key };
}

/** Opens a logged-in session and waits for `open`. */
async function openSession(sim: WaSimulator, auth: AuthenticationState, timings?: ClientTimings): Promise<SimClient> {
  const c = connect(sim, auth, timings);
  await c.opened;
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) {
    c.sock.end(undefined);
  }
});

describe('wa-sim with the real Baileys client', () => {
  let sim: WaSimulator;

  beforeAll(async () => {
    sim = await startWaSimulator();
  });

  afterAll(async () => {
    await sim.close();
  });

  it('pairs by QR: scan → creds.update(me) → 515 → new socket → open', async () => {
    const auth = makeMemoryAuthState();
    const first = connect(sim, auth);
    const qr = await first.firstQr;
    expect(qr).toMatch(/^https:\/\/wa\.me\/settings\/linked_devices#[^,]+,[^,]+,[^,]+,[^,]+,\d+$/);
    expect(auth.creds.me).toBeUndefined();

    const device = await sim.scanQr(qr, { phoneNumber: '15551110001' });
    expect(device.jid).toBe('15551110001:1@s.whatsapp.net');
    expect(await first.closed).toBe(515);
    expect(first.updates.some(u => u.isNewLogin === true)).toBe(true);
    expect(auth.creds.me?.id).toBe(device.jid);
    expect(auth.creds.me?.lid).toBe(device.lid);
    expect(auth.creds.account?.deviceSignature?.length).toBe(64);

    const started = Date.now();
    const second = await openSession(sim, auth);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(second.updates.some(u => u.receivedPendingNotifications === true)).toBe(true);
    expect(sim.liveConnections(device.key)).toBe(1);
    expect(sim.maxConcurrent(device.key)).toBe(1);
    expect(sim.totalLogins(device.key)).toBe(1);
    expect(sim.devices().map(d => d.jid)).toContain(device.jid);

    second.sock.end(undefined);
    await second.closed;
    await vi.waitFor(() => expect(sim.liveConnections(device.key)).toBe(0));
    expect(sim.protocolErrors()).toEqual([]);
  });

  it('pairs by phone pairing code: requestPairingCode → enterPairingCode → 515 → open', async () => {
    const phone = '4915112345678';
    const auth = makeMemoryAuthState();
    const first = connect(sim, auth);
    await first.firstQr;
    const code = await first.sock.requestPairingCode(phone);
    expect(code).toMatch(/^[A-Z0-9]{8}$/);

    const device = await sim.enterPairingCode(phone, code);
    expect(device.phoneNumber).toBe(phone);
    expect(await first.closed).toBe(515);
    expect(auth.creds.me?.id).toBe(device.jid);

    await openSession(sim, auth);
    expect(sim.liveConnections(phone)).toBe(1);
    expect(sim.totalLogins(device.key)).toBe(1);
  });

  it('rejects a wrong pairing code (the key bundle does not decrypt)', async () => {
    const phone = '4915100000002';
    const first = connect(sim, makeMemoryAuthState());
    await first.firstQr;
    const code = await first.sock.requestPairingCode(phone);
    const wrong = code.startsWith('A') ? `B${code.slice(1)}` : `A${code.slice(1)}`;
    await expect(sim.enterPairingCode(phone, wrong)).rejects.toThrow(/pairing code mismatch/);
    expect(sim.devices().some(d => d.phoneNumber === phone)).toBe(false);
  });

  it('a QR carrying a foreign ADV secret fails the client HMAC check (500) and links nothing', async () => {
    const first = connect(sim, makeMemoryAuthState());
    const qr = await first.firstQr;
    const parts = qr.split(',');
    parts[3] = Buffer.alloc(32, 7).toString('base64');
    await expect(sim.scanQr(parts.join(','), { phoneNumber: '15551110099' })).rejects.toThrow(/closed/);
    expect(await first.closed).toBe(500);
    expect(sim.devices().some(d => d.phoneNumber === '15551110099')).toBe(false);
  });

  it('sequential reconnects never overlap; a second login replaces the first with 440', async () => {
    const { auth, key } = await pairByQr(sim, '15551110002');
    for (let i = 0; i < 2; i++) {
      const c = await openSession(sim, auth);
      expect(sim.liveConnections(key)).toBe(1);
      c.sock.end(undefined);
      await c.closed;
      await vi.waitFor(() => expect(sim.liveConnections(key)).toBe(0));
    }
    expect(sim.maxConcurrent(key)).toBe(1);
    expect(sim.totalLogins(key)).toBe(2);

    const a = await openSession(sim, auth);
    const b = await openSession(sim, auth);
    expect(await a.closed).toBe(440);
    expect(sim.maxConcurrent(key)).toBe(2);
    await vi.waitFor(() => expect(sim.liveConnections(key)).toBe(1));
    b.sock.end(undefined);
  });

  it('dropConnection → 428', async () => {
    const { auth, key } = await pairByQr(sim, '15551110003');
    const c = await openSession(sim, auth);
    expect(sim.dropConnection(key)).toBe(1);
    expect(await c.closed).toBe(428);
    await vi.waitFor(() => expect(sim.liveConnections(key)).toBe(0));
  });

  it('failure at login → 401 / 403; failure on a live session → its reason', async () => {
    const { auth, key } = await pairByQr(sim, '15551110004');
    sim.failNextLogin(key, 401);
    expect(await connect(sim, auth).closed).toBe(401);
    sim.failNextLogin(key, 403);
    expect(await connect(sim, auth).closed).toBe(403);
    expect(sim.totalLogins(key)).toBe(0);

    const c = await openSession(sim, auth);
    expect(sim.sendFailure(key, 403)).toBe(1);
    expect(await c.closed).toBe(403);
  });

  it('conflictReplaced → 440', async () => {
    const { auth, key } = await pairByQr(sim, '15551110005');
    const c = await openSession(sim, auth);
    expect(sim.conflictReplaced(key)).toBe(1);
    expect(await c.closed).toBe(440);
  });

  it('deviceRemoved → 401 and the device is unlinked (next login fails 401)', async () => {
    const { auth, key } = await pairByQr(sim, '15551110006');
    const c = await openSession(sim, auth);
    expect(sim.deviceRemoved(key)).toBe(1);
    expect(await c.closed).toBe(401);
    expect(sim.devices().some(d => d.key === key)).toBe(false);
    expect(await connect(sim, auth).closed).toBe(401);
  });

  it('client logout sends remove-companion-device → 401 and the simulator forgets the device', async () => {
    const { auth, key } = await pairByQr(sim, '15551110007');
    const c = await openSession(sim, auth);
    await c.sock.logout();
    expect(await c.closed).toBe(401);
    await vi.waitFor(() => expect(sim.devices().some(d => d.key === key)).toBe(false));
  });

  it('refuseHandshake (no ServerHello) → 428', async () => {
    sim.refuseHandshake(true);
    try {
      const c = connect(sim, makeMemoryAuthState());
      expect(await c.closed).toBe(428);
      expect(c.qrs).toEqual([]);
    } finally {
      sim.refuseHandshake(false);
    }
  });

  it('goSilent → the client times out with 408', async () => {
    const { auth, key } = await pairByQr(sim, '15551110008');
    const c = await openSession(sim, auth, { keepAliveIntervalMs: 1_000 });
    sim.goSilent(key);
    expect(await c.closed).toBe(408);
    sim.goSilent(key, false);
  }, 15_000);

  it('a malformed frame closes only that socket', async () => {
    const { auth } = await pairByQr(sim, '15551110009');
    const live = await openSession(sim, auth);
    const raw = new WebSocket(sim.url);
    await new Promise(r => raw.once('open', r));
    const closed = new Promise(r => raw.once('close', r));
    raw.send(Buffer.from('this is not a WhatsApp frame'));
    await closed;
    expect(sim.protocolErrors().some(e => e.includes('MalformedFrameError'))).toBe(true);
    // the logged-in client is untouched and the server keeps serving
    expect(live.updates.some(u => u.connection === 'close')).toBe(false);
    const fresh = connect(sim, makeMemoryAuthState());
    expect(await fresh.firstQr).toContain(',');
  });
});

describe('wa-sim QR ref exhaustion', () => {
  it('closes with 408 once every ref has been shown', async () => {
    const sim = await startWaSimulator({ qrRefs: 2, qrTimeoutMs: 200 });
    try {
      const c = connect(sim, makeMemoryAuthState(), { qrTimeout: 200 });
      expect(await c.closed).toBe(408);
      expect(c.qrs).toHaveLength(2);
      expect(new Set(c.qrs.map(q => q.split(',')[0])).size).toBe(2);
    } finally {
      await sim.close();
    }
  });
});

describe('wa-sim QR ref lifetime', () => {
  it('refuses to scan a ref the server has already expired', async () => {
    const sim = await startWaSimulator({ qrTimeoutMs: 100 });
    try {
      const c = connect(sim, makeMemoryAuthState());
      const qr = await c.firstQr;
      await new Promise(r => setTimeout(r, 250));
      await expect(sim.scanQr(qr)).rejects.toThrow(/expired/);
      expect(sim.devices()).toEqual([]);
    } finally {
      await sim.close();
    }
  });
});

describe('ADV signatures', () => {
  it('accepts the client-side countersignature and rejects a forged one that Baileys rc14 would accept', () => {
    const account = generateKeyPair();
    const companion = Curve.generateKeyPair();
    const built = buildDeviceIdentity({
      accountKey: account,
      companionIdentityKey: companion.public,
      advSecret: Buffer.alloc(32, 1),
      keyIndex: 1,
      rawId: 1,
    });
    const signed = proto.ADVSignedDeviceIdentity.decode(proto.ADVSignedDeviceIdentityHMAC.decode(built.hmacWrapped).details!);
    const deviceMsg = Buffer.concat([ADV_DEVICE_SIG_PREFIX, built.details, companion.public, account.public]);
    const good = proto.ADVSignedDeviceIdentity.encode({ ...signed, deviceSignature: Curve.sign(companion.private, deviceMsg) }).finish();
    const expected = { details: built.details, companionIdentityKey: companion.public, accountPublicKey: account.public };
    expect(checkDeviceSignature(good, expected)).toBeUndefined();

    const forgedSig = sign(generateKeyPair().private, deviceMsg);
    const forged = proto.ADVSignedDeviceIdentity.encode({ ...signed, deviceSignature: forgedSig }).finish();
    expect(checkDeviceSignature(forged, expected)).toBe('bad-device-signature');
    // the client library's own verify does not catch it (documented rc14 gotcha)
    expect(Curve.verify(companion.public, deviceMsg, forgedSig)).toBe(true);
  });
});
