import type { Kysely } from "kysely";
import { ensureOrganization } from "../db/organizations.js";
import type { Database, NewSessionRow, SessionRow, SessionUpdate } from "../db/schema.js";
import type { EventLog } from "../events/event-log.js";
import { sessionJson } from "./session-json.js";

/**
 * Data access for `sessions`. Every read and write is scoped by organization,
 * and every write appends its events (`session.created`, `session.updated`,
 * `session.deleted`) in the same transaction.
 */
export interface SessionRepository {
  /** Inserts the row, creating its organization if new. */
  insert(row: NewSessionRow): Promise<SessionRow>;
  get(organizationId: string, id: string): Promise<SessionRow | undefined>;
  list(organizationId: string): Promise<SessionRow[]>;
  /** Applies `patch` and bumps `updated_at`; undefined when not found. */
  update(organizationId: string, id: string, patch: SessionUpdate): Promise<SessionRow | undefined>;
  /** Removes the row; false when not found. */
  delete(organizationId: string, id: string): Promise<boolean>;
}

/** A {@link SessionRepository} on Kysely. */
export function createSessionRepository(db: Kysely<Database>, events: EventLog): SessionRepository {
  return {
    insert(row) {
      return events.transact(async (tx) => {
        await ensureOrganization(tx, row.organization_id);
        const inserted = await tx.insertInto("sessions").values(row).returningAll().executeTakeFirstOrThrow();
        return {
          result: inserted,
          events: [{ organizationId: inserted.organization_id, sessionId: inserted.id, type: "session.created", data: { session: sessionJson(inserted) } }],
        };
      });
    },
    get(organizationId, id) {
      return db.selectFrom("sessions").selectAll().where("organization_id", "=", organizationId).where("id", "=", id).executeTakeFirst();
    },
    list(organizationId) {
      return db.selectFrom("sessions").selectAll().where("organization_id", "=", organizationId).orderBy("id").execute();
    },
    update(organizationId, id, patch) {
      return events.transact(async (tx) => {
        const row = await tx
          .updateTable("sessions")
          .set({ ...patch, updated_at: new Date() })
          .where("organization_id", "=", organizationId)
          .where("id", "=", id)
          .returningAll()
          .executeTakeFirst();
        if (!row) return { result: undefined, events: [] };
        return {
          result: row,
          events: [{ organizationId, sessionId: id, type: "session.updated", data: { session: sessionJson(row), changed: Object.keys(patch).map(camelCase) } }],
        };
      });
    },
    delete(organizationId, id) {
      return events.transact(async (tx) => {
        const res = await tx.deleteFrom("sessions").where("organization_id", "=", organizationId).where("id", "=", id).executeTakeFirst();
        const deleted = res.numDeletedRows > 0n;
        return { result: deleted, events: deleted ? [{ organizationId, sessionId: id, type: "session.deleted", data: {} }] : [] };
      });
    },
  };
}

function camelCase(column: string): string {
  return column.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}
