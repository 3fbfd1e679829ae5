import type { Kysely } from "kysely";
import { ensureOrganization } from "../db/organizations.js";
import type { Database, NewSessionRow, SessionRow, SessionUpdate } from "../db/schema.js";

/** Data access for `sessions`. Every read and write is scoped by organization. */
export interface SessionRepository {
  /** Inserts the row, creating its organization if new, in one transaction. */
  insert(row: NewSessionRow): Promise<SessionRow>;
  get(organizationId: string, id: string): Promise<SessionRow | undefined>;
  list(organizationId: string): Promise<SessionRow[]>;
  /** Applies `patch` and bumps `updated_at`; undefined when not found. */
  update(organizationId: string, id: string, patch: SessionUpdate): Promise<SessionRow | undefined>;
  /** Removes the row; false when not found. */
  delete(organizationId: string, id: string): Promise<boolean>;
}

/** A {@link SessionRepository} on Kysely. */
export function createSessionRepository(db: Kysely<Database>): SessionRepository {
  return {
    async insert(row) {
      return db.transaction().execute(async (tx) => {
        await ensureOrganization(tx, row.organization_id);
        return tx.insertInto("sessions").values(row).returningAll().executeTakeFirstOrThrow();
      });
    },
    get(organizationId, id) {
      return db.selectFrom("sessions").selectAll().where("organization_id", "=", organizationId).where("id", "=", id).executeTakeFirst();
    },
    list(organizationId) {
      return db.selectFrom("sessions").selectAll().where("organization_id", "=", organizationId).orderBy("id").execute();
    },
    update(organizationId, id, patch) {
      return db
        .updateTable("sessions")
        .set({ ...patch, updated_at: new Date() })
        .where("organization_id", "=", organizationId)
        .where("id", "=", id)
        .returningAll()
        .executeTakeFirst();
    },
    async delete(organizationId, id) {
      const res = await db.deleteFrom("sessions").where("organization_id", "=", organizationId).where("id", "=", id).executeTakeFirst();
      return res.numDeletedRows > 0n;
    },
  };
}
