import type { MediaContent } from "../../gen/wagateway/v1/message_pb.js";
import type { SendMessageRequest } from "../../gen/wagateway/v1/message_service_pb.js";
import { errorFields, validationError } from "../errors/api-error.js";
import { isUlid } from "../util/ulid.js";
import { parseRecipient, type Recipient } from "./addressing.js";
import { type MediaFetchPolicy, mediaUrlProblem } from "./media-fetch.js";
import type { MessageTypeWord } from "./message-words.js";

/** A send request, checked and normalized. */
export interface OutboundDraft {
  recipient: Recipient;
  type: MessageTypeWord;
  /** The content in the contract's JSON shape (inline bytes left out). */
  content: Record<string, unknown>;
  /** Inline media bytes, if given. */
  mediaData: Uint8Array | null;
  /** Our id of the message replied to. */
  replyTo: string | null;
  /** Mentioned JIDs. */
  mentions: string[];
  /** Reaction and revoke: our id of the target message. */
  targetId: string | null;
}

/** Longest text body accepted (WhatsApp's own limit is about this). */
export const maxTextLength = 65_536;
/** Longest caption accepted. */
const maxCaptionLength = 4_096;

const defaultMimetype: Record<string, string> = {
  image: "image/jpeg",
  video: "video/mp4",
  audio: "audio/mpeg",
  document: "application/octet-stream",
};

/**
 * Checks a send request and returns its draft; every problem is a
 * `validation_error` naming its field (JSON names, e.g. `image.url`).
 */
export function validateSend(req: SendMessageRequest, media: MediaFetchPolicy): OutboundDraft {
  const fields: Record<string, string> = {};
  let recipient: Recipient | undefined;
  try {
    recipient = parseRecipient(req.to, "to");
  } catch (err) {
    Object.assign(fields, fieldsOf(err));
  }
  const mentions: string[] = [];
  req.mentions.forEach((m, i) => {
    try {
      mentions.push(parseRecipient(m, `mentions[${i}]`).jid);
    } catch (err) {
      Object.assign(fields, fieldsOf(err));
    }
  });
  if (req.mentions.length > 256) fields.mentions = "at most 256 mentions";
  let replyTo: string | null = null;
  if (req.replyTo !== undefined && req.replyTo !== "") {
    replyTo = req.replyTo.toUpperCase();
    if (!isUlid(replyTo)) fields.replyTo = "must be a message id";
  }

  let type: MessageTypeWord = "text";
  let content: Record<string, unknown> = {};
  let mediaData: Uint8Array | null = null;
  let targetId: string | null = null;
  const c = req.content;
  switch (c.case) {
    case undefined:
      fields.content = "exactly one content kind is required: text, image, video, audio, document, location, contact, reaction or revoke";
      break;
    case "text": {
      const body = c.value.body;
      if (body.trim() === "") fields["text.body"] = "must not be empty";
      else if ([...body].length > maxTextLength) fields["text.body"] = `must be at most ${maxTextLength} characters`;
      content = { text: { body, linkPreview: c.value.linkPreview } };
      break;
    }
    case "image":
    case "video":
    case "audio":
    case "document": {
      type = c.case;
      const m: MediaContent = c.value;
      const k = c.case;
      const hasUrl = m.url !== undefined && m.url !== "";
      const hasData = m.data !== undefined && m.data.byteLength > 0;
      if (hasUrl && hasData) fields[`${k}.url`] = "give url or data, not both";
      else if (!hasUrl && !hasData) fields[`${k}.url`] = "url or data is required";
      if (hasUrl) {
        const problem = mediaUrlProblem(m.url!, media);
        if (problem) fields[`${k}.url`] = problem;
      }
      if (hasData && m.data!.byteLength > media.maxBytes) fields[`${k}.data`] = `must be at most ${media.maxBytes} bytes (MAX_MEDIA_BYTES)`;
      if (m.caption !== undefined && [...m.caption].length > maxCaptionLength) fields[`${k}.caption`] = `must be at most ${maxCaptionLength} characters`;
      if (m.caption !== undefined && m.caption !== "" && k === "audio") fields[`${k}.caption`] = "audio has no caption";
      if (m.voice !== undefined && k !== "audio") fields[`${k}.voice`] = "only audio can be a voice note";
      if (m.mimetype !== undefined && !/^[\w.+-]+\/[\w.+-]+(\s*;.*)?$/.test(m.mimetype)) fields[`${k}.mimetype`] = "must be a media type such as image/jpeg";
      if (m.filename !== undefined && (m.filename.length > 255 || /[\\/\0]/.test(m.filename))) fields[`${k}.filename`] = "must be a file name of at most 255 characters without slashes";
      if (m.size !== undefined || m.sha256 !== undefined) fields[`${k}.size`] = "size and sha256 are set by the gateway";
      const mimetype = m.mimetype ?? (k === "audio" && m.voice ? "audio/ogg; codecs=opus" : defaultMimetype[k]!);
      const body: Record<string, unknown> = { mimetype };
      if (hasUrl) body.url = m.url;
      if (m.filename !== undefined) body.filename = m.filename;
      if (m.caption !== undefined) body.caption = m.caption;
      if (k === "audio") body.voice = m.voice ?? false;
      if (hasData) {
        mediaData = m.data!;
        body.size = m.data!.byteLength;
      }
      content = { [k]: body };
      break;
    }
    case "location": {
      type = "location";
      const l = c.value;
      if (!(Number.isFinite(l.latitude) && l.latitude >= -90 && l.latitude <= 90)) fields["location.latitude"] = "must be between -90 and 90";
      if (!(Number.isFinite(l.longitude) && l.longitude >= -180 && l.longitude <= 180)) fields["location.longitude"] = "must be between -180 and 180";
      content = { location: { latitude: l.latitude, longitude: l.longitude, ...(l.name !== undefined && { name: l.name }), ...(l.address !== undefined && { address: l.address }) } };
      break;
    }
    case "contact": {
      type = "contact";
      const v = c.value;
      if (v.displayName.trim() === "") fields["contact.displayName"] = "must not be empty";
      if (!/^BEGIN:VCARD\r?\n[\s\S]*END:VCARD\s*$/i.test(v.vcard.trim())) fields["contact.vcard"] = "must be a vCard (BEGIN:VCARD … END:VCARD)";
      else if (v.vcard.length > 65_536) fields["contact.vcard"] = "must be at most 65536 characters";
      content = { contact: { displayName: v.displayName, vcard: v.vcard } };
      break;
    }
    case "reaction": {
      type = "reaction";
      targetId = c.value.messageId.toUpperCase();
      if (!isUlid(targetId)) fields["reaction.messageId"] = "must be a message id";
      if ([...c.value.emoji].length > 16) fields["reaction.emoji"] = "must be one emoji (or empty to remove)";
      content = { reaction: { messageId: targetId, emoji: c.value.emoji } };
      break;
    }
    case "revoke": {
      type = "revoke";
      targetId = c.value.messageId.toUpperCase();
      if (!isUlid(targetId)) fields["revoke.messageId"] = "must be a message id";
      content = { revoke: { messageId: targetId } };
      break;
    }
  }
  if ((type === "reaction" || type === "revoke") && replyTo) fields.replyTo = `a ${type} cannot reply to a message`;
  if (Object.keys(fields).length > 0) throw validationError(fields);
  return { recipient: recipient!, type, content, mediaData, replyTo, mentions, targetId };
}

function fieldsOf(err: unknown): Record<string, string> {
  const out = errorFields(err);
  if (Object.keys(out).length === 0) throw err;
  return out;
}
