import { type Kysely, sql } from "kysely";
import type { Database } from "../../../src/db/schema.js";

/** What a consistency check found for one organization. */
export interface Consistency {
  sessions: number;
  /** Acknowledged ids that are not in the database. */
  missing: string[];
  /** Sessions without exactly one `session.created` event. */
  withoutCreatedEvent: string[];
  /** `session.created` events whose session is neither present nor deleted. */
  orphanEvents: string[];
  /** Sessions whose required columns are not all set (a half-written row). */
  incomplete: string[];
}

/**
 * Checks the organization's rows: every acknowledged create is present, every
 * session has exactly one `session.created` event and every such event its
 * session (a row and its event commit together or not at all), and no row is
 * half-written.
 */
export async function checkConsistency(db: Kysely<Database>, orgId: string, acknowledged: readonly string[]): Promise<Consistency> {
  const sessions = await db.selectFrom("sessions").selectAll().where("organization_id", "=", orgId).execute();
  const ids = new Set(sessions.map((s) => s.id));
  const created = await sql<{ session_id: string; n: string }>`
    select session_id, count(*)::text as n from events
    where organization_id = ${orgId} and type = 'session.created' group by session_id`.execute(db);
  const deleted = await sql<{ session_id: string }>`
    select distinct session_id from events where organization_id = ${orgId} and type = 'session.deleted'`.execute(db);
  const deletedIds = new Set(deleted.rows.map((r) => r.session_id));
  const createdCount = new Map(created.rows.map((r) => [r.session_id, Number(r.n)]));
  return {
    sessions: sessions.length,
    missing: acknowledged.filter((id) => !ids.has(id) && !deletedIds.has(id)),
    withoutCreatedEvent: sessions.filter((s) => createdCount.get(s.id) !== 1).map((s) => s.id),
    orphanEvents: [...createdCount.keys()].filter((id) => !ids.has(id) && !deletedIds.has(id)),
    incomplete: sessions
      .filter((s) => !s.id || !s.status || !s.desired_state || s.created_at == null || s.updated_at == null || s.rate_per_min == null)
      .map((s) => s.id),
  };
}
