import type { SessionRow } from "../db/schema.js";
import { activeRestriction } from "../messages/restrictions.js";

/** A session in the contract's JSON shape (every key, `null` when absent, epoch ms), as carried in event data. */
export function sessionJson(row: SessionRow): Record<string, unknown> {
  return {
    id: row.id,
    organizationId: row.organization_id,
    label: row.label,
    status: row.status,
    statusReason: row.status_reason,
    lastError: row.last_error,
    autoRead: row.auto_read,
    presenceTyping: row.presence_typing,
    ratePerMin: row.rate_per_min,
    ratePerHour: row.rate_per_hour,
    phoneNumber: row.phone_number,
    waJid: row.wa_jid,
    waLid: row.wa_lid,
    gatewayId: row.gateway_id,
    isAdminSession: row.is_admin_session,
    createdByUserId: row.created_by_user_id,
    createdAt: row.created_at.getTime(),
    updatedAt: row.updated_at.getTime(),
    lastConnectedAt: row.last_connected_at?.getTime() ?? null,
    restriction: activeRestriction(row) ?? null,
  };
}
