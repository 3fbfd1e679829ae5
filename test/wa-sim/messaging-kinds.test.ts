import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { downloadMediaMessage, proto, type AuthenticationState, type BaileysEventMap, type WAMessage } from '@whiskeysockets/baileys';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connectClient, type SimClient } from './baileys-client.js';
import { sha256Hex } from './media-crypto.js';
import { makeMemoryAuthState } from './memory-auth-state.js';
import type { FetchDispatcher } from './tls-trust.js';
import { quietLibsignal } from './quiet-libsignal.js';
import { startWaSimulator, type WaSimulator } from './wa-simulator.js';
import type { SimContact } from './messaging-api.js';

/** `vi.waitFor` with room for a loaded two-core machine (the default is 1 s). */
function eventually<T>(fn: () => T | Promise<T>): Promise<T> {
  return vi.waitFor(fn, { timeout: 10_000, interval: 20 });
}

const ACCOUNT = '15550101111';
const VCARD = 'BEGIN:VCARD\nVERSION:3.0\nFN:Jane Roe\nTEL;type=CELL;waid=15550109999:+1 555 010 9999\nEND:VCARD';

describe('wa-sim: every content kind, both ways, with the real Baileys client', () => {
  let sim: WaSimulator;
  let client: SimClient;
  let auth: AuthenticationState;
  let contact: SimContact;
  let dispatcher: FetchDispatcher;
  let loud: () => void;
  const upserts: BaileysEventMap['messages.upsert'][] = [];

  async function upserted(id: string): Promise<WAMessage> {
    let found: WAMessage | undefined;
    await eventually(() => {
      found = upserts.flatMap(u => u.messages).find(m => m.key.id === id && !m.key.fromMe);
      expect(found).toBeDefined();
    });
    return found!;
  }

  beforeAll(async () => {
    loud = quietLibsignal();
    sim = await startWaSimulator();
    auth = makeMemoryAuthState();
    const first = connectClient(sim, auth);
    await sim.scanQr(await first.firstQr, { phoneNumber: ACCOUNT });
    await first.closed;
    // Uploads go through Node's https with `fetchAgent`; downloads through global fetch with a dispatcher.
    client = connectClient(sim, auth, {}, { fetchAgent: sim.media.httpsAgent() });
    client.sock.ev.on('messages.upsert', u => upserts.push(u));
    await client.ready;
    dispatcher = await sim.media.dispatcher();
    contact = sim.contact('15550102222', { name: 'Grace' });
    // one exchange so later sends are plain `msg`s in an established session
    await client.sock.sendMessage(contact.jid, { text: 'warm-up' });
    await contact.waitForMessage();
  });

  afterAll(async () => {
    client.sock.end(undefined);
    await dispatcher.close();
    await sim.close();
    loud();
  });

  describe('Baileys → contact', () => {
    it('reply with mention: extendedTextMessage with contextInfo (stanzaId, participant, quotedMessage, mentionedJid)', async () => {
      const inbound = await contact.sendText(ACCOUNT, 'original');
      const quoted = await upserted(inbound.id);
      const mentioned = sim.contact('15550103333').jid;
      const sent = await client.sock.sendMessage(contact.jid, { text: `re @15550103333`, mentions: [mentioned] }, { quoted });
      const got = await contact.waitForMessage(m => m.id === sent!.key.id);
      const ext = got.message.extendedTextMessage!;
      expect(ext.text).toBe('re @15550103333');
      expect(ext.contextInfo?.stanzaId).toBe(inbound.id);
      expect(ext.contextInfo?.participant).toBe(contact.jid);
      expect(ext.contextInfo?.quotedMessage?.conversation).toBe('original');
      expect(ext.contextInfo?.mentionedJid).toEqual([mentioned]);
    });

    it('image: uploaded to the media host, decrypts to the same bytes (SHA-256), caption and mimetype kept', async () => {
      const bytes = randomBytes(40_000);
      const sent = await client.sock.sendMessage(contact.jid, { image: bytes, caption: 'a picture', mimetype: 'image/png' });
      const got = await contact.waitForMessage(m => m.id === sent!.key.id);
      expect(got.type).toBe('media');
      expect(got.mediaType).toBe('image');
      const img = got.message.imageMessage!;
      expect(img.caption).toBe('a picture');
      expect(img.mimetype).toBe('image/png');
      expect(img.url?.startsWith(sim.media.origin)).toBe(true);
      expect(sha256Hex(sim.media.download(got.message))).toBe(sha256Hex(bytes));
      expect(sim.media.uploads().some(u => u.type === 'image' && u.directPath === img.directPath)).toBe(true);
    });

    it('document and voice note: same bytes, fileName / ptt kept', async () => {
      const doc = randomBytes(5_000);
      const d = await client.sock.sendMessage(contact.jid, { document: doc, mimetype: 'application/pdf', fileName: 'report.pdf' });
      const gotDoc = await contact.waitForMessage(m => m.id === d!.key.id);
      expect(gotDoc.message.documentMessage?.fileName).toBe('report.pdf');
      expect(sha256Hex(sim.media.download(gotDoc.message))).toBe(sha256Hex(doc));

      const voice = randomBytes(3_000);
      const v = await client.sock.sendMessage(contact.jid, { audio: voice, mimetype: 'audio/ogg; codecs=opus', ptt: true, seconds: 2 });
      const gotVoice = await contact.waitForMessage(m => m.id === v!.key.id);
      expect(gotVoice.message.audioMessage?.ptt).toBe(true);
      expect(sha256Hex(sim.media.download(gotVoice.message))).toBe(sha256Hex(voice));
    });

    it('location, contact card, reaction and revoke arrive as exactly that', async () => {
      const loc = await client.sock.sendMessage(contact.jid, { location: { degreesLatitude: 52.52, degreesLongitude: 13.405, name: 'Berlin' } });
      const gotLoc = await contact.waitForMessage(m => m.id === loc!.key.id);
      expect(gotLoc.message.locationMessage).toMatchObject({ degreesLatitude: 52.52, degreesLongitude: 13.405, name: 'Berlin' });

      const card = await client.sock.sendMessage(contact.jid, { contacts: { contacts: [{ displayName: 'Jane Roe', vcard: VCARD }] } });
      const gotCard = await contact.waitForMessage(m => m.id === card!.key.id);
      expect(gotCard.message.contactMessage).toMatchObject({ displayName: 'Jane Roe', vcard: VCARD });

      const target = await client.sock.sendMessage(contact.jid, { text: 'react to me, then I vanish' });
      await contact.waitForMessage(m => m.id === target!.key.id);
      const react = await client.sock.sendMessage(contact.jid, { react: { text: '👍', key: target!.key } });
      const gotReact = await contact.waitForMessage(m => m.id === react!.key.id);
      expect(gotReact.type).toBe('reaction');
      expect(gotReact.message.reactionMessage).toMatchObject({ text: '👍', key: { id: target!.key.id, fromMe: true } });

      // Baileys mutates the key object passed as `delete` (its own revoke upsert): pass a copy.
      const targetId = target!.key.id;
      const revoke = await client.sock.sendMessage(contact.jid, { delete: { ...target!.key } });
      const gotRevoke = await contact.waitForMessage(m => m.id === revoke!.key.id);
      expect(gotRevoke.message.protocolMessage?.type).toBe(proto.Message.ProtocolMessage.Type.REVOKE);
      expect(gotRevoke.message.protocolMessage?.key?.id).toBe(targetId);
      expect(sim.duplicateFrames()).toEqual([]);
      expect(sim.protocolErrors()).toEqual([]);
      expect(sim.messagingErrors()).toEqual([]);
    });
  });

  describe('contact → Baileys', () => {
    it('extendedText reply with mention, location, contact card → messages.upsert carries them', async () => {
      const own = await client.sock.sendMessage(contact.jid, { text: 'quote me' });
      await contact.waitForMessage(m => m.id === own!.key.id);
      const reply = await contact.send(ACCOUNT, {
        extendedTextMessage: {
          text: 'replying @15550101111',
          contextInfo: { stanzaId: own!.key.id, participant: `${ACCOUNT}@s.whatsapp.net`, quotedMessage: { conversation: 'quote me' }, mentionedJid: [`${ACCOUNT}@s.whatsapp.net`] },
        },
      });
      const r = await upserted(reply.id);
      expect(r.message?.extendedTextMessage?.text).toBe('replying @15550101111');
      expect(r.message?.extendedTextMessage?.contextInfo).toMatchObject({ stanzaId: own!.key.id, mentionedJid: [`${ACCOUNT}@s.whatsapp.net`] });

      const loc = await contact.send(ACCOUNT, { locationMessage: { degreesLatitude: -33.86, degreesLongitude: 151.21, name: 'Sydney' } });
      expect((await upserted(loc.id)).message?.locationMessage).toMatchObject({ degreesLatitude: -33.86, degreesLongitude: 151.21, name: 'Sydney' });

      const card = await contact.send(ACCOUNT, { contactMessage: { displayName: 'Jane Roe', vcard: VCARD } });
      expect((await upserted(card.id)).message?.contactMessage).toMatchObject({ displayName: 'Jane Roe', vcard: VCARD });
    });

    it('image, video, voice note and document: downloadMediaMessage through the media host returns the original bytes', async () => {
      const cases = [
        { kind: 'image' as const, bytes: randomBytes(20_000), fields: { caption: 'look', mimetype: 'image/jpeg' }, field: 'imageMessage' as const },
        { kind: 'video' as const, bytes: randomBytes(30_000), fields: { caption: 'clip', seconds: 3 }, field: 'videoMessage' as const },
        { kind: 'audio' as const, bytes: randomBytes(4_000), fields: { ptt: true, seconds: 1 }, field: 'audioMessage' as const },
        { kind: 'document' as const, bytes: randomBytes(7_000), fields: { fileName: 'notes.txt', mimetype: 'text/plain' }, field: 'documentMessage' as const },
      ];
      for (const c of cases) {
        const sent = await contact.sendMedia(ACCOUNT, c.kind, c.bytes, c.fields);
        const msg = await upserted(sent.id);
        expect(msg.message?.[c.field]).toBeTruthy();
        const data = await downloadMediaMessage(msg, 'buffer', { options: { dispatcher } as RequestInit });
        expect(sha256Hex(data)).toBe(sha256Hex(c.bytes));
      }
      const img = (await upserted((await contact.sendMedia(ACCOUNT, 'image', randomBytes(100), { caption: 'cap' })).id)).message?.imageMessage;
      expect(img?.caption).toBe('cap');
    });

    it('reaction → messages.reaction; revoke → the message is deleted (messages.update with a null message)', async () => {
      const reactions: BaileysEventMap['messages.reaction'] = [];
      const updates: BaileysEventMap['messages.update'] = [];
      client.sock.ev.on('messages.reaction', r => reactions.push(...r));
      client.sock.ev.on('messages.update', u => updates.push(...u));
      const own = await client.sock.sendMessage(contact.jid, { text: 'like this' });
      await contact.waitForMessage(m => m.id === own!.key.id);
      await contact.send(ACCOUNT, { reactionMessage: { key: { remoteJid: contact.jid, fromMe: false, id: own!.key.id }, text: '❤️', senderTimestampMs: Date.now() } });
      await eventually(() => expect(reactions.some(r => r.key.id === own!.key.id && r.reaction.text === '❤️')).toBe(true));

      const gone = await contact.sendText(ACCOUNT, 'oops');
      await upserted(gone.id);
      const revoke = await contact.send(ACCOUNT, { protocolMessage: { type: proto.Message.ProtocolMessage.Type.REVOKE, key: { remoteJid: `${ACCOUNT}@s.whatsapp.net`, fromMe: true, id: gone.id } } });
      const r = await upserted(revoke.id);
      expect(r.message?.protocolMessage?.key?.id).toBe(gone.id);
      await eventually(() => expect(updates.some(u => u.key.id === gone.id && u.update.message === null)).toBe(true));
      expect(sim.protocolErrors()).toEqual([]);
      expect(sim.messagingErrors()).toEqual([]);
    });
  });

  describe('media host trust', () => {
    it('is refused without trust; trusted by dispatcher, by trustGlobally(), and by NODE_EXTRA_CA_CERTS in a child process', async () => {
      const bytes = randomBytes(1_000);
      const url = sim.media.publish(bytes, 'image/png', 'pic.png');
      await expect(fetch(url)).rejects.toThrow();
      const viaDispatcher = await fetch(url, { dispatcher } as RequestInit);
      expect(viaDispatcher.headers.get('content-type')).toBe('image/png');
      expect(sha256Hex(Buffer.from(await viaDispatcher.arrayBuffer()))).toBe(sha256Hex(bytes));

      const undo = await sim.media.trustGlobally();
      try {
        expect(sha256Hex(Buffer.from(await (await fetch(url)).arrayBuffer()))).toBe(sha256Hex(bytes));
      } finally {
        undo();
      }

      const script = `fetch(${JSON.stringify(url)}).then(r => r.arrayBuffer()).then(b => process.stdout.write(require('crypto').createHash('sha256').update(Buffer.from(b)).digest('hex')))`;
      const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { env: { ...process.env, NODE_EXTRA_CA_CERTS: sim.media.caFile } });
      expect(stdout).toBe(sha256Hex(bytes));
    });
  });
});
