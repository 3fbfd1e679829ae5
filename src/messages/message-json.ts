import type { MessageRow } from "../db/schema.js";

/** A message in the contract's JSON shape (every key, `null` when absent, epoch ms), as carried in event data. */
export function messageJson(row: MessageRow): Record<string, unknown> {
  return {
    id: row.id,
    sessionId: row.session_id,
    organizationId: row.organization_id,
    waMessageId: row.wa_message_id,
    direction: row.direction,
    source: row.source,
    chatId: row.chat_id,
    contact: { phone: row.contact_phone, lid: row.contact_lid, pushName: row.contact_push_name },
    type: row.type,
    content: row.content,
    replyTo: row.reply_to,
    mentions: row.mentions,
    status: row.status,
    statusReason: row.status_reason,
    createdAt: row.created_at.getTime(),
    sentAt: row.sent_at?.getTime() ?? null,
    deliveredAt: row.delivered_at?.getTime() ?? null,
    readAt: row.read_at?.getTime() ?? null,
    notBefore: row.not_before?.getTime() ?? null,
    expiresAt: row.expires_at?.getTime() ?? null,
  };
}
