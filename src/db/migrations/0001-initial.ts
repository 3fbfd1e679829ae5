import { type Kysely, sql } from "kysely";

/** Organizations, sessions and API keys. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("organizations")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable("sessions")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("organization_id", "text", (c) => c.notNull().references("organizations.id").onDelete("cascade"))
    .addColumn("label", "text")
    .addColumn("status", "text", (c) =>
      c.notNull().check(sql`status in ('stopped', 'starting', 'scan_qr_code', 'working', 'failed')`),
    )
    .addColumn("status_reason", "text")
    .addColumn("desired_state", "text", (c) => c.notNull().check(sql`desired_state in ('running', 'stopped')`))
    .addColumn("auto_read", "boolean", (c) => c.notNull())
    .addColumn("presence_typing", "boolean", (c) => c.notNull())
    .addColumn("rate_per_min", "integer", (c) => c.notNull().check(sql`rate_per_min between 1 and 1000`))
    .addColumn("rate_per_hour", "integer", (c) => c.notNull().check(sql`rate_per_hour between 1 and 100000`))
    .addColumn("phone_number", "text")
    .addColumn("wa_jid", "text")
    .addColumn("wa_lid", "text")
    .addColumn("gateway_id", "text")
    .addColumn("is_admin_session", "boolean", (c) => c.notNull().defaultTo(false))
    .addColumn("created_by_user_id", "text")
    .addColumn("created_at", "timestamptz", (c) => c.notNull())
    .addColumn("updated_at", "timestamptz", (c) => c.notNull())
    .addColumn("last_connected_at", "timestamptz")
    .execute();
  await db.schema.createIndex("sessions_org_idx").on("sessions").columns(["organization_id", "id"]).execute();

  await db.schema
    .createTable("api_keys")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("organization_id", "text", (c) => c.notNull().references("organizations.id").onDelete("cascade"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("key_hash", "text", (c) => c.notNull().unique())
    .addColumn("prefix", "text", (c) => c.notNull())
    .addColumn("permissions", sql`text[]`, (c) => c.notNull())
    .addColumn("created_by_user_id", "text")
    .addColumn("created_at", "timestamptz", (c) => c.notNull())
    .addColumn("last_used_at", "timestamptz")
    .addColumn("revoked_at", "timestamptz")
    .execute();
  await db.schema.createIndex("api_keys_org_idx").on("api_keys").columns(["organization_id", "id"]).execute();
}
