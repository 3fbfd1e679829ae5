import type { Kysely } from "kysely";

/** `sessions.last_error`: why the latest connection attempt failed (the contract's `Session.last_error`). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("sessions").addColumn("last_error", "text").execute();
}

