import type { AuthenticationState, BaileysEventMap, WAMessage, WAMessageUpdate } from '@whiskeysockets/baileys';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connectClient, type SimClient } from './baileys-client.js';
import { makeMemoryAuthState } from './memory-auth-state.js';
import { quietLibsignal } from './quiet-libsignal.js';
import { startWaSimulator, type WaSimulator } from './wa-simulator.js';

/** `vi.waitFor` with room for a loaded two-core machine (the default is 1 s). */
function eventually<T>(fn: () => T | Promise<T>): Promise<T> {
  return vi.waitFor(fn, { timeout: 10_000, interval: 20 });
}

/** A linked, open, ready Baileys client plus every message event it emitted. */
interface Linked {
  client: SimClient;
  auth: AuthenticationState;
  phone: string;
  upserts: BaileysEventMap['messages.upsert'][];
  updates: WAMessageUpdate[];
}

const linked: Linked[] = [];

async function link(sim: WaSimulator, phone: string): Promise<Linked> {
  const auth = makeMemoryAuthState();
  const first = connectClient(sim, auth);
  await sim.scanQr(await first.firstQr, { phoneNumber: phone });
  await first.closed;
  const client = connectClient(sim, auth, {}, { fetchAgent: sim.media.httpsAgent() });
  const l: Linked = { client, auth, phone, upserts: [], updates: [] };
  client.sock.ev.on('messages.upsert', u => l.upserts.push(u));
  client.sock.ev.on('messages.update', u => l.updates.push(...u));
  await client.opened;
  await client.ready;
  linked.push(l);
  return l;
}

/** The first upserted message (past or future) matching `pred`. */
async function upserted(l: Linked, pred: (m: WAMessage, type: string) => boolean): Promise<{ msg: WAMessage; type: string }> {
  let found: { msg: WAMessage; type: string } | undefined;
  await vi.waitFor(
    () => {
      for (const u of l.upserts) for (const m of u.messages) if (!found && pred(m, u.type)) found = { msg: m, type: u.type };
      expect(found).toBeDefined();
    },
    { timeout: 10_000, interval: 20 },
  );
  return found!;
}

/**
 * Statuses Baileys reported for message `id`: from `messages.update` and from its own buffered upserts
 * (an update arriving within the send's event buffer is merged into the `append` upsert instead).
 */
function statuses(l: Linked, id: string): number[] {
  const fromUpserts = l.upserts.flatMap(u => u.messages).filter(m => m.key.id === id && m.status != null).map(m => Number(m.status));
  const fromUpdates = l.updates.filter(u => u.key.id === id && u.update.status != null).map(u => Number(u.update.status));
  return [...fromUpserts, ...fromUpdates];
}

describe('wa-sim messaging with the real Baileys client', () => {
  let sim: WaSimulator;
  let a: Linked;
  let loud: () => void;

  beforeAll(async () => {
    loud = quietLibsignal();
    sim = await startWaSimulator();
    a = await link(sim, '15550001111');
  });

  afterAll(async () => {
    for (const l of linked.splice(0)) l.client.sock.end(undefined);
    await sim.close();
    loud();
  });

  it('a contact sends text (PN envelope) → messages.upsert notify; Baileys answers with a receipt', async () => {
    const alice = sim.contact('15550002222', { name: 'Alice' });
    const sent = await alice.sendText(a.phone, 'hello from alice');
    expect(sent.liveDevices).toEqual([`${a.phone}:1`]);
    const { msg, type } = await upserted(a, m => m.key.id === sent.id);
    expect(type).toBe('notify');
    expect(msg.key).toMatchObject({ remoteJid: alice.jid, fromMe: false, id: sent.id });
    expect(msg.pushName).toBe('Alice');
    expect(msg.message?.conversation).toBe('hello from alice');
    expect(Number(msg.messageTimestamp)).toBe(sent.t);
    const receipt = await alice.waitForReceipt(r => r.ids.includes(sent.id));
    expect(receipt.type).toBe('inactive');
    expect(sim.protocolErrors()).toEqual([]);
    expect(sim.messagingErrors()).toEqual([]);
  });

  it('Baileys sends text → the contact decrypts extendedTextMessage; the own phone gets deviceSentMessage', async () => {
    const bob = sim.contact('15550003333', { name: 'Bob' });
    const sent = await a.client.sock.sendMessage(bob.jid, { text: 'hi bob' });
    const got = await bob.waitForMessage(m => m.id === sent!.key.id);
    expect(got.message.extendedTextMessage?.text).toBe('hi bob');
    expect(got.encType).toBe('pkmsg');
    expect(got.from).toBe(`${a.phone}:1@s.whatsapp.net`);
    expect(got.to).toBe(bob.jid);
    const copy = await sim.ownPhone(a.phone).waitForMessage(m => m.id === sent!.key.id);
    expect(copy.message.deviceSentMessage?.destinationJid).toBe(bob.jid);
    expect(copy.message.deviceSentMessage?.message?.extendedTextMessage?.text).toBe('hi bob');
    expect(sim.frameCount(sent!.key.id!)).toBe(1);

    // the contact replies in the same session: msg, not pkmsg
    const reply = await bob.sendText(a.phone, 'hi back');
    const { msg } = await upserted(a, m => m.key.id === reply.id);
    expect(msg.message?.conversation).toBe('hi back');
    const second = await a.client.sock.sendMessage(bob.jid, { text: 'second' });
    const got2 = await bob.waitForMessage(m => m.id === second!.key.id);
    expect(got2.encType).toBe('msg');
    expect(bob.received().map(m => m.message.extendedTextMessage?.text)).toEqual(['hi bob', 'second']);
    expect(sim.duplicateFrames()).toEqual([]);
    expect(sim.protocolErrors()).toEqual([]);
  });

  it('receipts from the contact → messages.update status 3 (delivered), 4 (read), 5 (played); a <list> covers several ids', async () => {
    const carol = sim.contact('15550004444');
    const m1 = await a.client.sock.sendMessage(carol.jid, { text: 'one' });
    const m2 = await a.client.sock.sendMessage(carol.jid, { text: 'two' });
    await carol.waitForMessage(m => m.id === m2!.key.id);
    const statusOf = (id: string, status: number) => statuses(a, id).includes(status);
    carol.sendReceipt(a.phone, [m1!.key.id!, m2!.key.id!]);
    await eventually(() => expect(statusOf(m1!.key.id!, 3) && statusOf(m2!.key.id!, 3)).toBe(true));
    carol.sendReceipt(a.phone, m1!.key.id!, 'read');
    await eventually(() => expect(statusOf(m1!.key.id!, 4)).toBe(true));
    carol.sendReceipt(a.phone, m1!.key.id!, 'played');
    await eventually(() => expect(statusOf(m1!.key.id!, 5)).toBe(true));
    const update = a.updates.find(u => u.key.id === m1!.key.id && u.update.status === 4)!;
    expect(update.key).toMatchObject({ remoteJid: carol.jid, fromMe: true });
    // Baileys acks each receipt
    await eventually(() => expect(sim.clientAcks().filter(k => k.class === 'receipt' && k.id === m1!.key.id).length).toBe(3));
  });

  it('readMessages → a read receipt to the contact; chatstates are recorded in order before the message', async () => {
    const dave = sim.contact('15550005555');
    const sent = await dave.sendText(a.phone, 'read me');
    const { msg } = await upserted(a, m => m.key.id === sent.id);
    await a.client.sock.readMessages([msg.key]);
    const read = await dave.waitForReceipt(r => r.ids.includes(sent.id) && r.type !== 'inactive');
    expect(['read', 'read-self']).toContain(read.type);

    await a.client.sock.sendPresenceUpdate('composing', dave.jid);
    await a.client.sock.sendPresenceUpdate('paused', dave.jid);
    const out = await a.client.sock.sendMessage(dave.jid, { text: 'typed' });
    await dave.waitForMessage(m => m.id === out!.key.id);
    const kinds = dave.timeline().filter(e => e.kind !== 'receipt').map(e => (e.kind === 'chatstate' ? e.state : `message:${e.id}`));
    expect(kinds).toEqual(['composing', 'paused', `message:${out!.key.id}`]);
    expect(dave.chatstates()[0]!.from).toBe(`${a.phone}:1@s.whatsapp.net`);
  });

  it('an error ack (463) → status ERROR (in the own upsert or a messages.update); a late ack → messages.update', async () => {
    const erin = sim.contact('15550006666');
    erin.failSends(463, { times: 1 });
    const fast = await a.client.sock.sendMessage(erin.jid, { text: 'rejected fast' });
    await eventually(() => expect(erin.rejected().map(m => m.id)).toContain(fast!.key.id));
    await eventually(() => expect(statuses(a, fast!.key.id!)).toContain(0));
    const stub = [
      ...a.upserts.flatMap(u => u.messages).filter(m => m.key.id === fast!.key.id && m.status === 0).map(m => m.messageStubParameters),
      ...a.updates.filter(u => u.key.id === fast!.key.id && u.update.status === 0).map(u => u.update.messageStubParameters),
    ];
    expect(stub[0]?.[0]).toBe('463');

    erin.failSends(463, { times: 1, delayMs: 400 });
    const late = await a.client.sock.sendMessage(erin.jid, { text: 'rejected late' });
    await eventually(() => expect(a.updates.some(u => u.key.id === late!.key.id && u.update.status === 0)).toBe(true));
    const u = a.updates.find(x => x.key.id === late!.key.id && x.update.status === 0)!;
    expect(u.update.messageStubParameters?.[0]).toBe('463');
    expect(erin.received()).toEqual([]);
    const ok = await a.client.sock.sendMessage(erin.jid, { text: 'accepted' });
    expect((await erin.waitForMessage(m => m.id === ok!.key.id)).message.extendedTextMessage?.text).toBe('accepted');
  });

  it('a contact sends while the companion is away → queued, delivered offline (append) on the next login', async () => {
    const frank = sim.contact('15550007777', { name: 'Frank' });
    const b = await link(sim, '15550008888');
    b.client.sock.end(undefined);
    await b.client.closed;
    const sent = await frank.sendText(b.phone, 'while you were away', { addressing: 'lid' });
    expect(sent.queuedDevices).toEqual([`${b.phone}:1`]);
    const again = connectClient(sim, b.auth);
    const upserts: BaileysEventMap['messages.upsert'][] = [];
    again.sock.ev.on('messages.upsert', x => upserts.push(x));
    linked.push({ ...b, client: again });
    await again.opened;
    await eventually(() => expect(upserts.flatMap(x => x.messages.map(m => [x.type, m.key.id, m.message?.conversation]))).toContainEqual(['append', sent.id, 'while you were away']));
    const m = upserts.flatMap(x => x.messages).find(x => x.key.id === sent.id)!;
    expect(m.key).toMatchObject({ remoteJid: frank.lid, remoteJidAlt: frank.jid, addressingMode: 'lid' });
    await frank.waitForReceipt(r => r.ids.includes(sent.id));
    expect(frank.receipts().find(r => r.ids.includes(sent.id))!.to).toBe(frank.lid);

    // this account's phone never talked to its companion: the phone starts the session (pkmsg)
    await again.ready;
    const fromPhone = await sim.ownPhone(b.phone).send(frank.jid, { conversation: 'phone first' });
    await eventually(() => expect(upserts.flatMap(x => x.messages).some(m => m.key.id === fromPhone.id && m.key.fromMe && m.message?.conversation === 'phone first')).toBe(true));
  });

  it('the owner sends from the phone itself → Baileys upserts it fromMe in the contact chat', async () => {
    const gina = sim.contact('15550009999');
    const phone = sim.ownPhone(a.phone);
    const first = await phone.send(gina.jid, { conversation: 'sent from my phone' });
    const { msg } = await upserted(a, m => m.key.id === first.id);
    expect(msg.key).toMatchObject({ remoteJid: gina.jid, fromMe: true });
    expect(msg.message?.conversation).toBe('sent from my phone');
    const second = await phone.send(gina.jid, { extendedTextMessage: { text: 'and again' } });
    expect((await upserted(a, m => m.key.id === second.id)).msg.message?.extendedTextMessage?.text).toBe('and again');
    expect(sim.protocolErrors()).toEqual([]);
  });

  it('onWhatsApp (usync contact protocol): contacts and accounts exist, other numbers do not', async () => {
    const hank = sim.contact('15550001212');
    const res = await a.client.sock.onWhatsApp('+15550001212', '15550008888', '15559990000');
    expect(res).toEqual(
      expect.arrayContaining([
        { jid: hank.jid, exists: true },
        { jid: '15550008888@s.whatsapp.net', exists: true },
      ]),
    );
    expect(res!.some(r => r.jid.startsWith('15559990000'))).toBe(false);
  });

  it('a contact that cannot decrypt answers with a retry receipt; Baileys resends the same id, received once', async () => {
    const ivy = sim.contact('15550001313');
    const one = await a.client.sock.sendMessage(ivy.jid, { text: 'one' });
    await ivy.waitForMessage(m => m.id === one!.key.id);
    const back = await ivy.sendText(a.phone, 'ack');
    await upserted(a, m => m.key.id === back.id);
    ivy.reinstall();
    const two = await a.client.sock.sendMessage(ivy.jid, { text: 'two' });
    const got = await ivy.waitForMessage(m => m.id === two!.key.id);
    expect(got.message.extendedTextMessage?.text).toBe('two');
    expect(got.encType).toBe('pkmsg');
    expect(ivy.undecryptable()).toMatchObject([{ id: two!.key.id, encType: 'msg', retryCount: 1 }]);
    expect(sim.frameCount(two!.key.id!)).toBe(2);
    expect(ivy.duplicates()).toEqual([]);
    expect(ivy.received().map(m => m.id)).toEqual([one!.key.id, two!.key.id]);
    expect(sim.messagingErrors()).toHaveLength(1);
  });

  it('sending to a LID JID: decrypted by the contact, receipts come back from the LID; inbound typing → presence.update', async () => {
    const jack = sim.contact('15550001414');
    const sent = await a.client.sock.sendMessage(jack.lid, { text: 'to your lid' });
    const got = await jack.waitForMessage(m => m.id === sent!.key.id);
    expect(got.to).toBe(jack.lid);
    expect(got.message.extendedTextMessage?.text).toBe('to your lid');
    jack.sendReceipt(a.phone, sent!.key.id!, 'read');
    await eventually(() => expect(statuses(a, sent!.key.id!)).toContain(4));
    expect(a.updates.filter(u => u.key.id === sent!.key.id).every(u => u.key.remoteJid === jack.lid)).toBe(true);

    const presences: BaileysEventMap['presence.update'][] = [];
    a.client.sock.ev.on('presence.update', p => presences.push(p));
    jack.sendChatstate(a.phone, 'composing');
    await eventually(() => expect(presences.some(p => p.presences[jack.jid]?.lastKnownPresence === 'composing')).toBe(true));
    jack.sendChatstate(a.phone, 'paused');
    await eventually(() => expect(presences.some(p => p.presences[jack.jid]?.lastKnownPresence === 'available')).toBe(true));
  });

  it('pre-keys: 812 uploaded at first login, one handed out per new session; running low → notification → Baileys uploads more', async () => {
    const key = `${a.phone}:1`;
    const before = sim.preKeyCount(key);
    expect(before).toBeGreaterThan(700);
    expect(before).toBeLessThanOrEqual(812);
    await sim.contact('15550001515').sendText(a.phone, 'uses one pre-key');
    expect(sim.preKeyCount(key)).toBe(before - 1);
    expect(sim.drainPreKeys(key, 2)).toBe(before - 3);
    await eventually(() => expect(sim.preKeyCount(key)).toBe(7));
    const late = sim.contact('15550001616');
    const sent = await late.sendText(a.phone, 'still works');
    await upserted(a, m => m.key.id === sent.id);
  });

  it('two paired accounts message each other through the simulator (relay), with receipts', async () => {
    const b = await link(sim, '15550002020');
    const errorsBefore = sim.messagingErrors().length;
    const sent = await a.client.sock.sendMessage(`${b.phone}@s.whatsapp.net`, { text: 'hello B' });
    const { msg, type } = await upserted(b, m => m.key.id === sent!.key.id);
    expect(type).toBe('notify');
    expect(msg.key).toMatchObject({ remoteJid: `${a.phone}@s.whatsapp.net`, fromMe: false });
    expect(msg.message?.conversation ?? msg.message?.extendedTextMessage?.text).toBe('hello B');
    await eventually(() => expect(statuses(a, sent!.key.id!)).toContain(3));

    const reply = await b.client.sock.sendMessage(`${a.phone}@s.whatsapp.net`, { text: 'hello A' });
    const back = await upserted(a, m => m.key.id === reply!.key.id);
    expect(back.msg.message?.extendedTextMessage?.text).toBe('hello A');
    expect(back.msg.key.remoteJid).toBe(`${b.phone}@s.whatsapp.net`);
    expect(sim.messagingErrors()).toHaveLength(errorsBefore);
    expect(sim.protocolErrors()).toEqual([]);
  });

  it('Baileys lost its session: it sends a retry receipt, the contact re-encrypts (new session from <keys>) and it arrives once', async () => {
    const kate = sim.contact('15550001717', { lidUser: '271717171717171' });
    const hello = await kate.sendText(a.phone, 'first');
    await upserted(a, m => m.key.id === hello.id);
    const out = await a.client.sock.sendMessage(kate.jid, { text: 'answer' });
    await kate.waitForMessage(m => m.id === out!.key.id);
    // wipe Baileys' session with the contact (both address forms)
    await a.auth.keys.set({ session: { [`${kate.lidUser}_1.0`]: null, [`${kate.phone}.0`]: null } });
    const lost = await kate.sendText(a.phone, 'after the loss');
    const { msg } = await upserted(a, m => m.key.id === lost.id && m.message?.conversation === 'after the loss');
    expect(msg.key.remoteJid).toBe(kate.jid);
    expect(kate.receipts().some(r => r.type === 'retry' && r.ids.includes(lost.id))).toBe(true);
    expect(a.upserts.flatMap(u => u.messages).filter(m => m.key.id === lost.id && m.message?.conversation).length).toBe(1);
  });

  it('a message written just before the connection drops is redelivered on the next login; never upserted twice', async () => {
    const leo = sim.contact('15550001818');
    const c = await link(sim, '15550003030');
    const warm = await leo.sendText(c.phone, 'warm');
    await upserted(c, m => m.key.id === warm.id);
    const sent = await leo.sendText(c.phone, 'lost in flight?');
    sim.dropConnection(`${c.phone}:1`);
    await c.client.closed;
    const again = connectClient(sim, c.auth);
    const upserts: BaileysEventMap['messages.upsert'][] = [];
    again.sock.ev.on('messages.upsert', x => upserts.push(x));
    linked.push({ ...c, client: again });
    await again.ready;
    const seen = () => [...c.upserts, ...upserts].flatMap(x => x.messages).filter(m => m.key.id === sent.id && m.message?.conversation === 'lost in flight?');
    // Unreceipted, so the server still holds it and redelivers it (offline) after the login. If the first
    // connection had already decrypted it (its receipt died with the socket), Baileys cannot decrypt the
    // copy ('Key used already') and nacks it with 487 — Baileys' own behaviour; otherwise it upserts it now.
    const nacked = () => sim.clientAcks().some(k => k.id === sent.id && k.error === '487');
    await eventually(() => expect(seen().length === 1 || nacked()).toBe(true));
    await new Promise(r => setTimeout(r, 300));
    expect(seen().length).toBeLessThanOrEqual(1);
    // either way the server is done with it: a later login gets nothing more
    const third = [...upserts];
    const warm2 = await leo.sendText(c.phone, 'after');
    await eventually(() => expect(upserts.flatMap(x => x.messages).some(m => m.key.id === warm2.id)).toBe(true));
    expect(upserts.flatMap(x => x.messages).filter(m => m.key.id === sent.id).length).toBe(third.flatMap(x => x.messages).filter(m => m.key.id === sent.id).length);
  });
});
