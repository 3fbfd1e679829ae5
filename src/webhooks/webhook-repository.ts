import { type Kysely, sql } from "kysely";
import type { Database, WebhookAttemptRow, WebhookRow } from "../db/schema.js";
import { ulid } from "../util/ulid.js";

/** What an endpoint is created with. */
export interface NewWebhook {
  organizationId: string;
  url: string;
  eventTypes: string[];
  sessions: string[];
  description: string | null;
  secret: string;
  /** The log position the endpoint starts after (its first event is the next one). */
  cursor: bigint;
}

/** Fields an update may change. */
export interface WebhookPatch {
  url?: string;
  eventTypes?: string[];
  sessions?: string[];
  description?: string | null;
  enabled?: boolean;
}

/** A page of delivery attempts. */
export interface AttemptPage {
  rows: WebhookAttemptRow[];
  nextCursor: string | undefined;
}

/** Webhook endpoints and their attempts, always within one organization. */
export interface WebhookRepository {
  create(w: NewWebhook): Promise<WebhookRow>;
  list(organizationId: string): Promise<WebhookRow[]>;
  get(organizationId: string, id: string): Promise<WebhookRow | undefined>;
  update(organizationId: string, id: string, patch: WebhookPatch): Promise<WebhookRow | undefined>;
  /** Deletes the endpoint with its pending events and attempts; false when there was none. */
  delete(organizationId: string, id: string): Promise<boolean>;
  /** Installs `secret`; the current one keeps signing until `previousUntil`. */
  rotate(organizationId: string, id: string, secret: string, previousUntil: Date): Promise<WebhookRow | undefined>;
  /** Moves the endpoint's cursor back to `after` (never forward), so later events are delivered again. */
  rewind(organizationId: string, id: string, after: bigint): Promise<WebhookRow | undefined>;
  /** Attempts newest first, `pageSize` per page, after the `cursor` of the previous page. */
  attempts(organizationId: string, webhookId: string, q: { outcome?: string | undefined; pageSize: number; cursor?: string | undefined }): Promise<AttemptPage>;
  /** Records one attempt outside any lease (test events). */
  recordAttempt(row: WebhookAttemptRow): Promise<void>;
}

/** A {@link WebhookRepository} on Kysely. */
export function createWebhookRepository(db: Kysely<Database>): WebhookRepository {
  const one = (organizationId: string, id: string) =>
    db.selectFrom("webhooks").selectAll().where("organization_id", "=", organizationId).where("id", "=", id).executeTakeFirst();
  return {
    async create(w) {
      const now = new Date();
      return db
        .insertInto("webhooks")
        .values({
          id: ulid(),
          organization_id: w.organizationId,
          url: w.url,
          event_types: w.eventTypes,
          sessions: w.sessions,
          description: w.description,
          enabled: true,
          disabled_reason: null,
          secret: w.secret,
          previous_secret: null,
          previous_secret_until: null,
          cursor: w.cursor.toString(),
          lease_holder: null,
          created_at: now,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    },
    list: (organizationId) => db.selectFrom("webhooks").selectAll().where("organization_id", "=", organizationId).orderBy("id").execute(),
    get: one,
    async update(organizationId, id, patch) {
      const set: Record<string, unknown> = { updated_at: new Date() };
      if (patch.url !== undefined) set.url = patch.url;
      if (patch.eventTypes !== undefined) set.event_types = patch.eventTypes;
      if (patch.sessions !== undefined) set.sessions = patch.sessions;
      if (patch.description !== undefined) set.description = patch.description;
      if (patch.enabled !== undefined) {
        set.enabled = patch.enabled;
        if (patch.enabled) set.disabled_reason = null;
      }
      return db
        .updateTable("webhooks")
        .set(set)
        .where("organization_id", "=", organizationId)
        .where("id", "=", id)
        .returningAll()
        .executeTakeFirst();
    },
    async delete(organizationId, id) {
      const r = await db.deleteFrom("webhooks").where("organization_id", "=", organizationId).where("id", "=", id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
    rotate: (organizationId, id, secret, previousUntil) =>
      db
        .updateTable("webhooks")
        .set({
          previous_secret: sql<string>`secret`,
          previous_secret_until: previousUntil,
          secret,
          updated_at: new Date(),
        })
        .where("organization_id", "=", organizationId)
        .where("id", "=", id)
        .returningAll()
        .executeTakeFirst(),
    rewind: (organizationId, id, after) =>
      db
        .updateTable("webhooks")
        .set({ cursor: sql<string>`least(cursor, ${after.toString()}::bigint)`, updated_at: new Date() })
        .where("organization_id", "=", organizationId)
        .where("id", "=", id)
        .returningAll()
        .executeTakeFirst(),
    async attempts(organizationId, webhookId, q) {
      let query = db
        .selectFrom("webhook_attempts")
        .selectAll()
        .where("organization_id", "=", organizationId)
        .where("webhook_id", "=", webhookId);
      if (q.outcome !== undefined) query = query.where("outcome", "=", q.outcome);
      if (q.cursor !== undefined) query = query.where("id", "<", q.cursor);
      const rows = await query.orderBy("id", "desc").limit(q.pageSize + 1).execute();
      const more = rows.length > q.pageSize;
      if (more) rows.pop();
      return { rows, nextCursor: more ? rows[rows.length - 1]!.id : undefined };
    },
    async recordAttempt(row) {
      await db.insertInto("webhook_attempts").values(row).execute();
    },
  };
}
