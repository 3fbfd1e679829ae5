import { create } from "@bufbuild/protobuf";
import { type ApiKey, ApiKeySchema, Permission } from "../../gen/wagateway/v1/api_key_pb.js";
import type { Capability } from "../auth/principal.js";
import type { ApiKeyRow } from "../db/schema.js";

const permissionOf: Record<Capability, Permission> = { manage: Permission.MANAGE, read: Permission.READ };

/** The capability of a protobuf permission; undefined for UNSPECIFIED or unknown values. */
export function capabilityOf(p: Permission): Capability | undefined {
  if (p === Permission.MANAGE) return "manage";
  if (p === Permission.READ) return "read";
  return undefined;
}

/** The protobuf `ApiKey` of a database row (never the secret or its hash). */
export function toApiKeyMessage(row: ApiKeyRow): ApiKey {
  return create(ApiKeySchema, {
    id: row.id,
    organizationId: row.organization_id,
    name: row.name,
    permissions: row.permissions.map((p) => permissionOf[p as Capability]).filter((p) => p !== undefined),
    prefix: row.prefix,
    createdByUserId: row.created_by_user_id ?? undefined,
    createdAt: BigInt(row.created_at.getTime()),
    lastUsedAt: row.last_used_at ? BigInt(row.last_used_at.getTime()) : undefined,
    revokedAt: row.revoked_at ? BigInt(row.revoked_at.getTime()) : undefined,
  });
}
