import { createHash } from "node:crypto";
import type pg from "pg";

/**
 * The SQL and JSON the bare baseline and the Express peer share. Every
 * statement is the one the gateway sends for the same call (same index, same
 * transaction shape for a create), so the peers do the same database work.
 */

/** `GetSession`: the primary-key read, scoped by organization. */
export const getSessionSql = `select * from "sessions" where "organization_id" = $1 and "id" = $2`;
/** `ListSessions`: the organization's sessions in id order (index `sessions_org_idx`). */
export const listSessionsSql = `select * from "sessions" where "organization_id" = $1 order by "id"`;
/** The API key look-up on a cache miss (unique index on `key_hash`). */
export const findKeySql = `select * from "api_keys" where "key_hash" = $1 and "revoked_at" is null`;

/** A `sessions` row as `pg` returns it. */
export interface SessionRecord {
  id: string;
  organization_id: string;
  label: string | null;
  status: string;
  status_reason: string | null;
  auto_read: boolean;
  presence_typing: boolean;
  rate_per_min: number;
  rate_per_hour: number;
  phone_number: string | null;
  wa_jid: string | null;
  wa_lid: string | null;
  gateway_id: string | null;
  is_admin_session: boolean;
  created_by_user_id: string | null;
  created_at: Date;
  updated_at: Date;
  last_connected_at: Date | null;
}

/** The REST JSON of a session: every field, `null` when absent, epoch-ms timestamps. */
export function sessionJson(r: SessionRecord): Record<string, unknown> {
  return {
    id: r.id,
    organizationId: r.organization_id,
    label: r.label,
    status: r.status,
    autoRead: r.auto_read,
    presenceTyping: r.presence_typing,
    ratePerMin: r.rate_per_min,
    ratePerHour: r.rate_per_hour,
    phoneNumber: r.phone_number,
    waJid: r.wa_jid,
    waLid: r.wa_lid,
    gatewayId: r.gateway_id,
    isAdminSession: r.is_admin_session,
    createdByUserId: r.created_by_user_id,
    createdAt: r.created_at.getTime(),
    updatedAt: r.updated_at.getTime(),
    lastConnectedAt: r.last_connected_at?.getTime() ?? null,
    statusReason: r.status_reason,
  };
}

const ulidAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A ULID (time + randomness), as the gateway makes session ids. */
export function newUlid(now = Date.now()): string {
  let s = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    s = ulidAlphabet[t % 32] + s;
    t = Math.floor(t / 32);
  }
  for (let i = 0; i < 16; i++) s += ulidAlphabet[Math.floor(Math.random() * 32)];
  return s;
}

/**
 * `CreateSession` with the gateway's statements: one transaction taking the
 * event-log advisory lock, ensuring the organization, inserting the row and its
 * `session.created` event, and notifying listeners.
 */
export async function createSession(pool: pg.Pool, orgId: string, label: string | null): Promise<SessionRecord> {
  const client = await pool.connect();
  try {
    await client.query("begin");
    await client.query("select pg_advisory_xact_lock($1)", [0x77616777]);
    const now = new Date();
    await client.query(`insert into "organizations" ("id", "name", "created_at") values ($1, $2, $3) on conflict ("id") do nothing`, [orgId, orgId, now]);
    const { rows } = await client.query<SessionRecord>(
      `insert into "sessions" ("id", "organization_id", "label", "status", "status_reason", "desired_state", "auto_read", "presence_typing", "rate_per_min", "rate_per_hour", "phone_number", "wa_jid", "wa_lid", "gateway_id", "is_admin_session", "created_by_user_id", "created_at", "updated_at", "last_connected_at")
       values ($1, $2, $3, 'stopped', null, 'stopped', false, true, 20, 600, null, null, null, null, false, null, $4, $4, null) returning *`,
      [newUlid(now.getTime()), orgId, label, now],
    );
    const row = rows[0]!;
    const ev = await client.query<{ id: string }>(
      `insert into "events" ("organization_id", "session_id", "type", "data") values ($1, $2, $3, $4) returning "id"`,
      [orgId, row.id, "session.created", JSON.stringify({ session: sessionJson(row) })],
    );
    await client.query("select pg_notify($1, $2)", ["wagateway_events", ev.rows[0]!.id]);
    await client.query("commit");
    return row;
  } catch (err) {
    await client.query("rollback").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** SHA-256 hex of an API key secret, as the gateway stores it. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}
