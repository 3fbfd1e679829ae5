import type { Kysely, Transaction } from "kysely";
import type { Database } from "./schema.js";

/** Creates the organization if it does not exist yet (idempotent). */
export async function ensureOrganization(
  db: Kysely<Database> | Transaction<Database>,
  id: string,
  name: string = id,
): Promise<void> {
  await db
    .insertInto("organizations")
    .values({ id, name, created_at: new Date() })
    .onConflict((oc) => oc.column("id").doNothing())
    .execute();
}
