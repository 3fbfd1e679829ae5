import { type Kysely, sql } from "kysely";

/**
 * Webhooks: endpoints per organization, the events each still owes its
 * receiver, and the log of delivery attempts.
 *
 * `webhooks.cursor` is the highest event id the endpoint has taken from the
 * event log: every matching event up to it is either delivered or waiting in
 * `webhook_pending`. The cursor and the pending rows move in one transaction,
 * so a crash between them loses nothing. `lease_holder`/`lease_epoch` name
 * the one gateway delivering for the endpoint, fenced like session leases.
 * The signing secrets are kept as they are: an HMAC needs the key itself.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("webhooks")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("organization_id", "text", (c) => c.notNull().references("organizations.id").onDelete("cascade"))
    .addColumn("url", "text", (c) => c.notNull())
    .addColumn("event_types", sql`text[]`, (c) => c.notNull())
    .addColumn("sessions", sql`text[]`, (c) => c.notNull())
    .addColumn("description", "text")
    .addColumn("enabled", "boolean", (c) => c.notNull())
    .addColumn("disabled_reason", "text")
    .addColumn("secret", "text", (c) => c.notNull())
    .addColumn("previous_secret", "text")
    .addColumn("previous_secret_until", "timestamptz")
    .addColumn("cursor", "bigint", (c) => c.notNull())
    .addColumn("lease_holder", "text")
    .addColumn("lease_epoch", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "timestamptz", (c) => c.notNull())
    .addColumn("updated_at", "timestamptz", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("webhooks_org_idx").on("webhooks").columns(["organization_id", "id"]).execute();

  await db.schema
    .createTable("webhook_pending")
    .addColumn("organization_id", "text", (c) => c.notNull())
    .addColumn("webhook_id", "text", (c) => c.notNull().references("webhooks.id").onDelete("cascade"))
    .addColumn("event_id", "bigint", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("next_attempt_at", "timestamptz", (c) => c.notNull())
    .addPrimaryKeyConstraint("webhook_pending_pk", ["webhook_id", "event_id"])
    .execute();
  await db.schema.createIndex("webhook_pending_due_idx").on("webhook_pending").columns(["organization_id", "webhook_id", "next_attempt_at"]).execute();

  await db.schema
    .createTable("webhook_attempts")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("organization_id", "text", (c) => c.notNull())
    .addColumn("webhook_id", "text", (c) => c.notNull().references("webhooks.id").onDelete("cascade"))
    .addColumn("event_id", "text", (c) => c.notNull())
    .addColumn("event_type", "text", (c) => c.notNull())
    .addColumn("attempt", "integer", (c) => c.notNull())
    .addColumn("outcome", "text", (c) => c.notNull().check(sql`outcome in ('succeeded', 'failed')`))
    .addColumn("http_status", "integer")
    .addColumn("error", "text")
    .addColumn("duration_ms", "integer", (c) => c.notNull())
    .addColumn("attempted_at", "timestamptz", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("webhook_attempts_list_idx").on("webhook_attempts").columns(["organization_id", "webhook_id", "id"]).execute();
  await db.schema.createIndex("webhook_attempts_time_idx").on("webhook_attempts").column("attempted_at").execute();
}
