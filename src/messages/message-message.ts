import { create, fromJson, type JsonObject } from "@bufbuild/protobuf";
import {
  type Message,
  MessageContentSchema,
  MessageDirection,
  MessageSchema,
  MessageSource,
  MessageStatus,
  MessageType,
} from "../../gen/wagateway/v1/message_pb.js";
import type { MessageRow } from "../db/schema.js";

const directionOf: Record<string, MessageDirection> = { out: MessageDirection.OUT, in: MessageDirection.IN };
const sourceOf: Record<string, MessageSource> = { api: MessageSource.API, phone: MessageSource.PHONE, contact: MessageSource.CONTACT };
const statusOf: Record<string, MessageStatus> = {
  queued: MessageStatus.QUEUED,
  sending: MessageStatus.SENDING,
  sent: MessageStatus.SENT,
  delivered: MessageStatus.DELIVERED,
  read: MessageStatus.READ,
  played: MessageStatus.PLAYED,
  failed: MessageStatus.FAILED,
  received: MessageStatus.RECEIVED,
};
const typeOf: Record<string, MessageType> = {
  text: MessageType.TEXT,
  image: MessageType.IMAGE,
  video: MessageType.VIDEO,
  audio: MessageType.AUDIO,
  document: MessageType.DOCUMENT,
  location: MessageType.LOCATION,
  contact: MessageType.CONTACT,
  reaction: MessageType.REACTION,
  revoke: MessageType.REVOKE,
  other: MessageType.OTHER,
};

/** The direction word of a protobuf enum value, if it is one. */
export function directionWord(d: MessageDirection): "out" | "in" | undefined {
  return d === MessageDirection.OUT ? "out" : d === MessageDirection.IN ? "in" : undefined;
}

/** The protobuf `Message` of a database row. */
export function toMessageMessage(row: MessageRow): Message {
  const ms = (d: Date | null) => (d ? BigInt(d.getTime()) : undefined);
  return create(MessageSchema, {
    id: row.id,
    sessionId: row.session_id,
    organizationId: row.organization_id,
    waMessageId: row.wa_message_id,
    direction: directionOf[row.direction] ?? MessageDirection.UNSPECIFIED,
    source: sourceOf[row.source] ?? MessageSource.UNSPECIFIED,
    chatId: row.chat_id,
    contact: { phone: row.contact_phone ?? undefined, lid: row.contact_lid ?? undefined, pushName: row.contact_push_name ?? undefined },
    type: typeOf[row.type] ?? MessageType.OTHER,
    content: fromJson(MessageContentSchema, row.content as JsonObject, { ignoreUnknownFields: true }),
    replyTo: row.reply_to ?? undefined,
    mentions: row.mentions,
    status: statusOf[row.status] ?? MessageStatus.UNSPECIFIED,
    statusReason: row.status_reason ?? undefined,
    createdAt: BigInt(row.created_at.getTime()),
    sentAt: ms(row.sent_at),
    deliveredAt: ms(row.delivered_at),
    readAt: ms(row.read_at),
    notBefore: ms(row.not_before),
    expiresAt: ms(row.expires_at),
  });
}
