import { type Kysely, sql } from "kysely";

/**
 * The event log. `id` is monotonic in commit order: appenders take a
 * transaction-scoped advisory lock before inserting (see event-log.ts), so a
 * reader never sees id N+1 before id N. `session_id` has no foreign key: a
 * `session.deleted` event outlives its session.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("events")
    .addColumn("id", "bigserial", (c) => c.primaryKey())
    .addColumn("organization_id", "text", (c) => c.notNull())
    .addColumn("session_id", "text", (c) => c.notNull())
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("data", "jsonb", (c) => c.notNull())
    .addColumn("occurred_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex("events_org_id_idx").on("events").columns(["organization_id", "id"]).execute();
  await db.schema.createIndex("events_occurred_at_idx").on("events").column("occurred_at").execute();

  // One row: the highest id removed by retention, so a resume from before it
  // is refused instead of silently skipping what was pruned.
  await db.schema
    .createTable("event_log_state")
    .addColumn("singleton", "boolean", (c) => c.primaryKey().defaultTo(true).check(sql`singleton`))
    .addColumn("pruned_through", "bigint", (c) => c.notNull().defaultTo(0))
    .execute();
  await sql`insert into event_log_state (singleton, pruned_through) values (true, 0)`.execute(db);
}
