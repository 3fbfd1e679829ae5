import type { proto } from "@whiskeysockets/baileys";
import { baileys } from "../whatsapp/baileys.js";
import type { MessageTypeWord } from "./message-words.js";

/** What a WhatsApp message says, in the contract's terms. */
export interface NormalizedContent {
  type: MessageTypeWord;
  /** The contract's JSON shape (no bytes). */
  content: Record<string, unknown>;
  /** WhatsApp id of the message this one quotes, if any. */
  quotedWaId: string | null;
  /** Mentioned JIDs. */
  mentions: string[];
  /** A reaction: the WhatsApp id of the target and the emoji ("" removes). */
  reaction?: { targetWaId: string; emoji: string };
  /** A revoke (delete for everyone): the WhatsApp id of the deleted message. */
  revokedWaId?: string;
}

type WithContext = { contextInfo?: proto.IContextInfo | null };

const hex = (b: Uint8Array | null | undefined) => (b && b.length > 0 ? Buffer.from(b).toString("hex") : undefined);
const num = (v: number | Long | null | undefined) => (v === null || v === undefined ? undefined : Number(v));
type Long = { toNumber(): number };

function media(m: proto.Message.IImageMessage & proto.Message.IDocumentMessage & proto.Message.IAudioMessage): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (m.mimetype) out.mimetype = m.mimetype;
  if (m.fileName) out.filename = m.fileName;
  if (m.caption) out.caption = m.caption;
  const size = num(m.fileLength as never);
  if (size !== undefined) out.size = size;
  const sha = hex(m.fileSha256);
  if (sha) out.sha256 = sha;
  return out;
}

/**
 * Normalizes a Baileys message's content (view-once and ephemeral wrappers
 * unwrapped). Undefined for messages that carry nothing to store (key
 * distribution, protocol messages other than revoke, empty stubs).
 */
export function normalizeContent(message: proto.IMessage | null | undefined): NormalizedContent | undefined {
  const m = baileys().normalizeMessageContent(message);
  if (!m) return undefined;
  const ctx = (c: WithContext | null | undefined) => ({
    quotedWaId: c?.contextInfo?.stanzaId ?? null,
    mentions: [...(c?.contextInfo?.mentionedJid ?? [])],
  });
  if (m.conversation) return { type: "text", content: { text: { body: m.conversation, linkPreview: false } }, quotedWaId: null, mentions: [] };
  if (m.extendedTextMessage) {
    const t = m.extendedTextMessage;
    return { type: "text", content: { text: { body: t.text ?? "", linkPreview: Boolean(t.matchedText || t.title) } }, ...ctx(t) };
  }
  const doc = m.documentWithCaptionMessage?.message?.documentMessage ?? m.documentMessage;
  for (const [kind, value] of [["image", m.imageMessage], ["video", m.videoMessage], ["audio", m.audioMessage], ["document", doc]] as const) {
    if (!value) continue;
    const body = media(value as never);
    if (kind === "audio") body.voice = Boolean((value as proto.Message.IAudioMessage).ptt);
    return { type: kind, content: { [kind]: body }, ...ctx(value) };
  }
  const loc = m.locationMessage ?? m.liveLocationMessage;
  if (loc) {
    const l = loc as proto.Message.ILocationMessage;
    return {
      type: "location",
      content: { location: { latitude: l.degreesLatitude ?? 0, longitude: l.degreesLongitude ?? 0, ...(l.name && { name: l.name }), ...(l.address && { address: l.address }) } },
      ...ctx(loc),
    };
  }
  const card = m.contactMessage ?? m.contactsArrayMessage?.contacts?.[0];
  if (card) {
    return { type: "contact", content: { contact: { displayName: card.displayName ?? "", vcard: card.vcard ?? "" } }, ...ctx(m.contactMessage ?? m.contactsArrayMessage) };
  }
  if (m.reactionMessage) {
    const r = m.reactionMessage;
    if (!r.key?.id) return undefined;
    return { type: "reaction", content: { reaction: { messageId: null, emoji: r.text ?? "" } }, quotedWaId: null, mentions: [], reaction: { targetWaId: r.key.id, emoji: r.text ?? "" } };
  }
  if (m.protocolMessage) {
    const p = m.protocolMessage;
    if (p.type === baileys().proto.Message.ProtocolMessage.Type.REVOKE && p.key?.id) {
      return { type: "revoke", content: { revoke: { messageId: null } }, quotedWaId: null, mentions: [], revokedWaId: p.key.id };
    }
    return undefined;
  }
  const keys = Object.keys(m).filter((k) => k !== "messageContextInfo" && k !== "senderKeyDistributionMessage" && (m as Record<string, unknown>)[k] != null);
  if (keys.length === 0) return undefined;
  return { type: "other", content: {}, quotedWaId: null, mentions: [] };
}
