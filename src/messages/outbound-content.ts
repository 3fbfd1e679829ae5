import type { AnyMessageContent, WAMessage, WAMessageKey } from "@whiskeysockets/baileys";
import { baileys } from "../whatsapp/baileys.js";
import type { MessageRow } from "../db/schema.js";
import { fetchMedia, type MediaFetchPolicy } from "./media-fetch.js";

/** Looks up a message of the same session by our id. */
export type MessageLookup = (id: string) => Promise<MessageRow | undefined>;

/** The WhatsApp key of a stored message. */
export function keyOf(row: MessageRow): WAMessageKey {
  return { remoteJid: row.chat_id, id: row.wa_message_id, fromMe: row.direction === "out" };
}

/** Baileys' message stored with a row, decoded (BufferJSON; Baileys must be loaded). */
export function storedWaMessage(row: MessageRow): WAMessage | undefined {
  return row.wa_message ? (JSON.parse(row.wa_message, baileys().BufferJSON.reviver) as WAMessage) : undefined;
}

/** What Baileys needs to quote `row` in a reply. */
export function quotable(row: MessageRow): WAMessage {
  const stored = storedWaMessage(row);
  if (stored?.message) return stored;
  const body = (row.content.text as { body?: string } | undefined)?.body ?? "";
  return { key: keyOf(row), message: { conversation: body } };
}

/**
 * Baileys' content for an outbound row: media fetched (URL, under the
 * policy) or taken from the inline bytes; reactions and revokes resolved to
 * their target's key. Throws a MediaFetchError when the media cannot be had,
 * and an Error when a target vanished.
 */
export async function outboundContent(row: MessageRow, lookup: MessageLookup, media: MediaFetchPolicy): Promise<AnyMessageContent> {
  const c = row.content as Record<string, Record<string, unknown>>;
  const mentions = row.mentions.length > 0 ? { mentions: row.mentions } : {};
  switch (row.type) {
    case "text": {
      const t = c.text as { body: string; linkPreview?: boolean };
      // `linkPreview: null` tells Baileys not to generate one.
      return { text: t.body, ...(t.linkPreview ? {} : { linkPreview: null }), ...mentions };
    }
    case "image":
    case "video":
    case "audio":
    case "document": {
      const m = c[row.type] as { url?: string; mimetype: string; filename?: string; caption?: string; voice?: boolean };
      const bytes = row.media_data ? Buffer.from(row.media_data) : (await fetchMedia(m.url!, media)).data;
      if (row.type === "image") return { image: bytes, mimetype: m.mimetype, ...(m.caption && { caption: m.caption }), ...mentions };
      if (row.type === "video") return { video: bytes, mimetype: m.mimetype, ...(m.caption && { caption: m.caption }), ...mentions };
      if (row.type === "audio") return { audio: bytes, mimetype: m.mimetype, ptt: Boolean(m.voice) };
      return { document: bytes, mimetype: m.mimetype, fileName: m.filename ?? "file", ...(m.caption && { caption: m.caption }), ...mentions };
    }
    case "location": {
      const l = c.location as { latitude: number; longitude: number; name?: string; address?: string };
      return { location: { degreesLatitude: l.latitude, degreesLongitude: l.longitude, ...(l.name && { name: l.name }), ...(l.address && { address: l.address }) } };
    }
    case "contact": {
      const k = c.contact as { displayName: string; vcard: string };
      return { contacts: { displayName: k.displayName, contacts: [{ displayName: k.displayName, vcard: k.vcard }] } };
    }
    case "reaction": {
      const r = c.reaction as { messageId: string; emoji: string };
      const target = await lookup(r.messageId);
      if (!target) throw new Error("the message reacted to no longer exists");
      return { react: { text: r.emoji, key: keyOf(target) } };
    }
    case "revoke": {
      const r = c.revoke as { messageId: string };
      const target = await lookup(r.messageId);
      if (!target) throw new Error("the message to revoke no longer exists");
      return { delete: keyOf(target) };
    }
    default:
      throw new Error(`cannot send a message of type ${row.type}`);
  }
}
