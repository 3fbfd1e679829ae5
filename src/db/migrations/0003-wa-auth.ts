import type { Kysely } from "kysely";

/**
 * Baileys auth state, per session: the creds document and every Signal key,
 * serialized with Baileys' BufferJSON (Buffers as base64) into `text`, so what
 * is read back is byte-for-byte what was written. Deleting a session removes
 * its auth state (cascade).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("wa_auth_creds")
    .addColumn("session_id", "text", (c) => c.primaryKey().references("sessions.id").onDelete("cascade"))
    .addColumn("creds", "text", (c) => c.notNull())
    .addColumn("updated_at", "timestamptz", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("wa_auth_keys")
    .addColumn("session_id", "text", (c) => c.notNull().references("sessions.id").onDelete("cascade"))
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("key_id", "text", (c) => c.notNull())
    .addColumn("value", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("wa_auth_keys_pk", ["session_id", "type", "key_id"])
    .execute();
}
