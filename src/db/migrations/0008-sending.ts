import { type Kysely, sql } from "kysely";

/**
 * Sending that users can trust: WhatsApp's restrictions on a session, and the
 * index the pacer reads its sliding windows from.
 *
 * `sessions.restriction_*`: the restriction WhatsApp put on the number (today
 * only `reachout_timelock`, error 463), since when, and until when (WhatsApp's
 * end time when it gave one, else the gateway's estimate; `restriction_until_known`
 * says which). Written by the session's holder.
 *
 * `messages_sent_window`: the API sends of a session by `sent_at`, so the
 * holder (after a restart or a take-over) computes the budget used in the
 * last minute and hour from what was actually sent.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("sessions")
    .addColumn("restriction_reason", "text")
    .addColumn("restriction_since", "timestamptz")
    .addColumn("restriction_until", "timestamptz")
    .addColumn("restriction_until_known", "boolean", (c) => c.notNull().defaultTo(false))
    .addColumn("restriction_message_id", "text")
    .execute();
  await sql`create index messages_sent_window on messages (session_id, sent_at) where direction = 'out' and source = 'api' and sent_at is not null`.execute(db);
}
