import { type Kysely, sql } from "kysely";

/**
 * Messages: the outbox and the history of every session.
 *
 * `messages`: one row per message, inbound or outbound. Outbound rows are the
 * outbox: written `queued` by SendMessage (with the WhatsApp id chosen up
 * front), then moved by the session's lease holder (fenced writes). `seq`
 * orders the outbox (insertion order) and breaks ties in listings.
 * `(session_id, wa_message_id)` is unique: a message WhatsApp delivers twice
 * (live, offline, own echo) is stored once. `wa_message` keeps Baileys' own
 * message (BufferJSON text) for media download, quoting and retries; no
 * received media bytes are stored. `media_data` holds inline bytes of an
 * outbound media message until it is sent.
 *
 * `number_checks`: the CheckNumbers cache, per organization and phone.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("messages")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("seq", "bigserial", (c) => c.notNull().unique())
    .addColumn("organization_id", "text", (c) => c.notNull())
    .addColumn("session_id", "text", (c) => c.notNull().references("sessions.id").onDelete("cascade"))
    .addColumn("wa_message_id", "text", (c) => c.notNull())
    .addColumn("direction", "text", (c) => c.notNull())
    .addColumn("source", "text", (c) => c.notNull())
    .addColumn("chat_id", "text", (c) => c.notNull())
    .addColumn("contact_phone", "text")
    .addColumn("contact_lid", "text")
    .addColumn("contact_push_name", "text")
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("content", "jsonb", (c) => c.notNull())
    .addColumn("media_data", "bytea")
    .addColumn("wa_message", "text")
    .addColumn("reply_to", "text")
    .addColumn("mentions", "jsonb", (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("status_reason", "text")
    .addColumn("idempotency_key", "text")
    .addColumn("request_hash", "text")
    .addColumn("created_at", "timestamptz", (c) => c.notNull())
    .addColumn("sent_at", "timestamptz")
    .addColumn("delivered_at", "timestamptz")
    .addColumn("read_at", "timestamptz")
    .addColumn("not_before", "timestamptz")
    .addColumn("expires_at", "timestamptz")
    .addColumn("updated_at", "timestamptz", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("messages_session_wa_id").on("messages").columns(["session_id", "wa_message_id"]).unique().execute();
  await db.schema.createIndex("messages_org_session_created").on("messages").columns(["organization_id", "session_id", "created_at", "seq"]).execute();
  await db.schema.createIndex("messages_org_session_chat_created").on("messages").columns(["organization_id", "session_id", "chat_id", "created_at", "seq"]).execute();
  await sql`create index messages_outbox on messages (session_id, seq) where status in ('queued', 'sending')`.execute(db);
  await sql`create unique index messages_idempotency on messages (session_id, idempotency_key) where idempotency_key is not null`.execute(db);
  await db.schema.createIndex("messages_created").on("messages").column("created_at").execute();

  await db.schema
    .createTable("number_checks")
    .addColumn("organization_id", "text", (c) => c.notNull())
    .addColumn("phone", "text", (c) => c.notNull())
    .addColumn("exists", "boolean", (c) => c.notNull())
    .addColumn("jid", "text")
    .addColumn("lid", "text")
    .addColumn("checked_at", "timestamptz", (c) => c.notNull())
    .addPrimaryKeyConstraint("number_checks_pk", ["organization_id", "phone"])
    .execute();
}
