import { type Kysely, sql } from "kysely";

/**
 * Several gateways on one database.
 *
 * `gateways`: one row per running gateway process (an incarnation: a restart
 * is a new row). It renews `expires_at` on a heartbeat and holds a session
 * advisory lock on `lock_no` for as long as it lives, so a crashed process is
 * seen as gone at once and a paused one once its heartbeat lapses.
 *
 * `session_leases`: who holds each session's socket, with an epoch that
 * grows on every take-over. Every write a holder makes checks its epoch
 * (fencing). A lease is valid while its holder's row is live; `holder` is
 * null after a clean release.
 *
 * `cluster_secret`: the key gateways sign internal calls to each other with.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("gateways")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("lock_no", "serial", (c) => c.notNull().unique())
    .addColumn("address", "text")
    .addColumn("capacity", "integer", (c) => c.notNull())
    .addColumn("draining", "boolean", (c) => c.notNull().defaultTo(false))
    .addColumn("started_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("heartbeat_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("expires_at", "timestamptz", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("session_leases")
    .addColumn("session_id", "text", (c) => c.primaryKey().references("sessions.id").onDelete("cascade"))
    .addColumn("holder", "text")
    .addColumn("epoch", "bigint", (c) => c.notNull())
    .addColumn("acquired_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex("session_leases_holder").on("session_leases").column("holder").execute();
  await db.schema
    .createTable("cluster_secret")
    .addColumn("singleton", "boolean", (c) => c.primaryKey().defaultTo(true).check(sql`singleton`))
    .addColumn("secret", "text", (c) => c.notNull())
    .execute();
}
