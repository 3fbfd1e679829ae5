import type { Kysely } from "kysely";
import { displayPrefix, generateApiKeySecret, hashApiKeySecret } from "../auth/api-key-secret.js";
import type { Capability } from "../auth/principal.js";
import { ensureOrganization } from "../db/organizations.js";
import type { ApiKeyRow, Database } from "../db/schema.js";
import { ulid } from "../util/ulid.js";

/** What is needed to create a key. */
export interface NewApiKey {
  organizationId: string;
  name: string;
  permissions: Capability[];
  createdByUserId?: string | undefined;
}

/** Data access for `api_keys`. Every method is scoped by organization. */
export interface ApiKeyRepository {
  /** Creates the key (and its organization if new); returns the row and the secret, which is not stored. */
  create(input: NewApiKey): Promise<{ row: ApiKeyRow; secret: string }>;
  list(organizationId: string): Promise<ApiKeyRow[]>;
  /** Marks the key revoked; undefined when no such key exists in the organization. */
  revoke(organizationId: string, id: string): Promise<ApiKeyRow | undefined>;
  /** The unrevoked key with this hash, in any organization. */
  findActiveByHash(hash: string): Promise<ApiKeyRow | undefined>;
  /** Records a use (best effort). */
  touch(id: string, at: Date): Promise<void>;
  /** Whether any key exists at all (first-run detection). */
  any(): Promise<boolean>;
}

/** A {@link ApiKeyRepository} on Kysely. */
export function createApiKeyRepository(db: Kysely<Database>): ApiKeyRepository {
  return {
    async create(input) {
      const secret = generateApiKeySecret();
      const row: ApiKeyRow = {
        id: ulid(),
        organization_id: input.organizationId,
        name: input.name,
        key_hash: hashApiKeySecret(secret),
        prefix: displayPrefix(secret),
        permissions: input.permissions,
        created_by_user_id: input.createdByUserId ?? null,
        created_at: new Date(),
        last_used_at: null,
        revoked_at: null,
      };
      await db.transaction().execute(async (tx) => {
        await ensureOrganization(tx, input.organizationId);
        await tx.insertInto("api_keys").values(row).execute();
      });
      return { row, secret };
    },
    list(organizationId) {
      return db.selectFrom("api_keys").selectAll().where("organization_id", "=", organizationId).orderBy("id").execute();
    },
    async revoke(organizationId, id) {
      const now = new Date();
      const updated = await db
        .updateTable("api_keys")
        .set((eb) => ({ revoked_at: eb.fn.coalesce("revoked_at", eb.val(now)) }))
        .where("organization_id", "=", organizationId)
        .where("id", "=", id)
        .returningAll()
        .executeTakeFirst();
      return updated;
    },
    findActiveByHash(hash) {
      return db.selectFrom("api_keys").selectAll().where("key_hash", "=", hash).where("revoked_at", "is", null).executeTakeFirst();
    },
    async touch(id, at) {
      await db.updateTable("api_keys").set({ last_used_at: at }).where("id", "=", id).execute();
    },
    async any() {
      const row = await db.selectFrom("api_keys").select("id").limit(1).executeTakeFirst();
      return row !== undefined;
    },
  };
}
