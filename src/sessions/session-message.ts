import { create } from "@bufbuild/protobuf";
import { type Session, SessionSchema, SessionStatus } from "../../gen/wagateway/v1/session_pb.js";
import type { SessionRow } from "../db/schema.js";
import { activeRestriction } from "../messages/restrictions.js";

const statusOf: Record<string, SessionStatus> = {
  stopped: SessionStatus.STOPPED,
  starting: SessionStatus.STARTING,
  scan_qr_code: SessionStatus.SCAN_QR_CODE,
  working: SessionStatus.WORKING,
  failed: SessionStatus.FAILED,
};

/** The protobuf `Session` of a database row. */
export function toSessionMessage(row: SessionRow): Session {
  return create(SessionSchema, {
    id: row.id,
    organizationId: row.organization_id,
    label: row.label ?? undefined,
    status: statusOf[row.status] ?? SessionStatus.UNSPECIFIED,
    autoRead: row.auto_read,
    presenceTyping: row.presence_typing,
    ratePerMin: row.rate_per_min,
    ratePerHour: row.rate_per_hour,
    phoneNumber: row.phone_number ?? undefined,
    waJid: row.wa_jid ?? undefined,
    waLid: row.wa_lid ?? undefined,
    gatewayId: row.gateway_id ?? undefined,
    isAdminSession: row.is_admin_session,
    createdByUserId: row.created_by_user_id ?? undefined,
    createdAt: BigInt(row.created_at.getTime()),
    updatedAt: BigInt(row.updated_at.getTime()),
    lastConnectedAt: row.last_connected_at ? BigInt(row.last_connected_at.getTime()) : undefined,
    statusReason: row.status_reason ?? undefined,
    lastError: row.last_error ?? undefined,
    restriction: restrictionMessage(row),
  });
}

/** The session's restriction while it lasts, as its protobuf message. */
function restrictionMessage(row: SessionRow) {
  const r = activeRestriction(row);
  return r && { reason: r.reason, since: BigInt(r.since), until: BigInt(r.until), untilKnown: r.untilKnown, messageId: r.messageId ?? undefined };
}
