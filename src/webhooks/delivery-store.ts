import { type Kysely, sql, type Transaction } from "kysely";
import { liveGatewayIds } from "../cluster/live-gateways.js";
import type { Database, WebhookAttemptRow, WebhookRow } from "../db/schema.js";
import type { EventLog } from "../events/event-log.js";
import type { NewEvent } from "../events/event-types.js";
import { type StoredEvent, toStoredEvent } from "../events/stored-event.js";
import { CursorMovedError, WebhookLeaseLostError } from "./lease-lost.js";

/** The lease under which a gateway delivers for one endpoint. */
export interface WebhookLease {
  webhookId: string;
  organizationId: string;
  holder: string;
  epoch: string;
}

/** An endpoint as its deliverer sees it at the start of a round. */
export interface EndpointState {
  row: WebhookRow;
  /** Events waiting in `webhook_pending`. */
  pending: number;
  /** The earliest `next_attempt_at` among them. */
  nextDue: Date | undefined;
}

/** A pending event that is due, with the event itself (undefined when retention removed it). */
export interface DueEvent {
  eventId: bigint;
  attempts: number;
  event: StoredEvent | undefined;
}

/**
 * The deliverer's side of the webhook tables. Every write is fenced: it
 * share-locks the endpoint row and checks holder and epoch in the same
 * transaction, so an old holder's write after a take-over is refused
 * ({@link WebhookLeaseLostError}) and never lands.
 */
export interface DeliveryStore {
  /** Takes every enabled endpoint no live gateway holds, for `holder`; returns how many. */
  claim(holder: string): Promise<number>;
  /** The enabled endpoints `holder` holds, with their epochs. */
  held(holder: string): Promise<WebhookLease[]>;
  /** Gives up `holder`'s leases (clean shutdown). */
  release(holder: string): Promise<void>;
  /** The endpoint's row and queue summary; undefined when the lease is gone or the endpoint disabled. */
  load(lease: WebhookLease): Promise<EndpointState | undefined>;
  /** Matching events of the organization after `after`, in id order (the log reader). */
  readLog(organizationId: string, after: bigint, sessions: readonly string[], limit: number): Promise<StoredEvent[]>;
  /** Queues `eventIds` and moves the cursor from `from` to `to` in one transaction. */
  enqueue(lease: WebhookLease, from: bigint, to: bigint, eventIds: readonly bigint[]): Promise<void>;
  /** Up to `limit` due events, none of `skip`. */
  due(lease: WebhookLease, limit: number, skip: ReadonlySet<bigint>): Promise<DueEvent[]>;
  /** The earliest next attempt among queued events not in `skip`. */
  nextDue(lease: WebhookLease, skip: ReadonlySet<bigint>): Promise<Date | undefined>;
  /** The event was delivered (or dropped): dequeue it and record the attempt. */
  settle(lease: WebhookLease, eventId: bigint, attempt: WebhookAttemptRow): Promise<void>;
  /** The attempt failed: count it, schedule the next one, record it. */
  retry(lease: WebhookLease, eventId: bigint, attempts: number, nextAt: Date, attempt: WebhookAttemptRow): Promise<void>;
  /**
   * Disables the endpoint (`gone` or `failing`), records the attempt, keeps
   * the event queued for when it is re-enabled, and appends the
   * `webhook.endpoint.disabled` event, all in one transaction.
   */
  disable(lease: WebhookLease, eventId: bigint, reason: string, attempt: WebhookAttemptRow, url: string): Promise<void>;
  /** Deletes attempts recorded before `before`. */
  pruneAttempts(before: Date): Promise<number>;
}

/**
 * A {@link DeliveryStore}. `clustered`: leases are valid while their holder
 * is a live gateway (PostgreSQL); otherwise one gateway owns the database and
 * any other holder is stale.
 */
export function createDeliveryStore(db: Kysely<Database>, log: EventLog, clustered: boolean): DeliveryStore {
  const stale = (holder: string) =>
    clustered ? sql`(lease_holder is null or lease_holder not in ${sql.raw(liveGatewayIds)})` : sql`(lease_holder is distinct from ${holder})`;

  const fence = async (tx: Transaction<Database>, lease: WebhookLease) => {
    const row = await tx
      .selectFrom("webhooks")
      .select("id")
      .where("id", "=", lease.webhookId)
      .where("organization_id", "=", lease.organizationId)
      .where("lease_holder", "=", lease.holder)
      .where("lease_epoch", "=", lease.epoch)
      .where("enabled", "=", true)
      .forShare()
      .executeTakeFirst();
    if (!row) throw new WebhookLeaseLostError(lease.webhookId);
  };

  return {
    async claim(holder) {
      const { rows } = await sql<{ id: string }>`
        update webhooks set lease_holder = ${holder}, lease_epoch = lease_epoch + 1
        where enabled and ${stale(holder)}
        returning id`.execute(db);
      return rows.length;
    },
    async held(holder) {
      const rows = await db
        .selectFrom("webhooks")
        .select(["id", "organization_id", "lease_epoch"])
        .where("lease_holder", "=", holder)
        .where("enabled", "=", true)
        .execute();
      return rows.map((r) => ({ webhookId: r.id, organizationId: r.organization_id, holder, epoch: String(r.lease_epoch) }));
    },
    async release(holder) {
      await db.updateTable("webhooks").set({ lease_holder: null }).where("lease_holder", "=", holder).execute();
    },
    async load(lease) {
      const row = await db
        .selectFrom("webhooks as w")
        .selectAll("w")
        .select([
          sql<string>`(select count(*) from webhook_pending p where p.webhook_id = w.id and p.organization_id = w.organization_id)`.as("pending"),
          sql<Date | null>`(select min(p.next_attempt_at) from webhook_pending p where p.webhook_id = w.id and p.organization_id = w.organization_id)`.as("next_due"),
        ])
        .where("w.id", "=", lease.webhookId)
        .where("w.organization_id", "=", lease.organizationId)
        .where("w.lease_holder", "=", lease.holder)
        .where("w.lease_epoch", "=", lease.epoch)
        .where("w.enabled", "=", true)
        .executeTakeFirst();
      if (!row) return undefined;
      const { pending, next_due, ...rest } = row as typeof row & { pending: string | number | null; next_due: Date | string | null };
      return { row: rest as WebhookRow, pending: Number(pending ?? 0), nextDue: next_due == null ? undefined : new Date(next_due) };
    },
    async readLog(organizationId, after, sessions, limit) {
      let q = db.selectFrom("events").selectAll().where("organization_id", "=", organizationId).where("id", ">", after.toString() as never);
      if (sessions.length > 0) q = q.where("session_id", "in", [...sessions]);
      const rows = await q.orderBy("id").limit(limit).execute();
      return rows.map(toStoredEvent);
    },
    async enqueue(lease, from, to, eventIds) {
      await db.transaction().execute(async (tx) => {
        const moved = await tx
          .updateTable("webhooks")
          .set({ cursor: to.toString() })
          .where("id", "=", lease.webhookId)
          .where("organization_id", "=", lease.organizationId)
          .where("lease_holder", "=", lease.holder)
          .where("lease_epoch", "=", lease.epoch)
          .where("enabled", "=", true)
          .where("cursor", "=", from.toString())
          .executeTakeFirst();
        if (Number(moved.numUpdatedRows) === 0) {
          await fence(tx, lease);
          throw new CursorMovedError("the cursor moved (replay)");
        }
        if (eventIds.length === 0) return;
        const now = new Date();
        await tx
          .insertInto("webhook_pending")
          .values(eventIds.map((id) => ({ organization_id: lease.organizationId, webhook_id: lease.webhookId, event_id: id.toString(), next_attempt_at: now })))
          .onConflict((oc) => oc.columns(["webhook_id", "event_id"]).doNothing())
          .execute();
      });
    },
    async due(lease, limit, skip) {
      let q = db
        .selectFrom("webhook_pending as p")
        .leftJoin("events as e", (j) => j.onRef("e.id", "=", "p.event_id").onRef("e.organization_id", "=", "p.organization_id"))
        .select(["p.event_id", "p.attempts", "e.id as e_id", "e.organization_id as e_org", "e.session_id", "e.type", "e.data", "e.occurred_at"])
        .where("p.organization_id", "=", lease.organizationId)
        .where("p.webhook_id", "=", lease.webhookId)
        .where("p.next_attempt_at", "<=", new Date());
      if (skip.size > 0) q = q.where("p.event_id", "not in", [...skip].map(String));
      const rows = await q.orderBy("p.next_attempt_at").orderBy("p.event_id").limit(limit).execute();
      return rows.map((r) => ({
        eventId: BigInt(r.event_id),
        attempts: r.attempts,
        event:
          r.e_id == null
            ? undefined
            : toStoredEvent({ id: r.e_id, organization_id: r.e_org!, session_id: r.session_id!, type: r.type!, data: r.data!, occurred_at: r.occurred_at! }),
      }));
    },
    async nextDue(lease, skip) {
      let q = db
        .selectFrom("webhook_pending")
        .select((eb) => eb.fn.min("next_attempt_at").as("m"))
        .where("organization_id", "=", lease.organizationId)
        .where("webhook_id", "=", lease.webhookId);
      if (skip.size > 0) q = q.where("event_id", "not in", [...skip].map(String));
      const row = await q.executeTakeFirst();
      return row?.m == null ? undefined : new Date(row.m as Date | string);
    },
    async settle(lease, eventId, attempt) {
      await db.transaction().execute(async (tx) => {
        await fence(tx, lease);
        await tx
          .deleteFrom("webhook_pending")
          .where("organization_id", "=", lease.organizationId)
          .where("webhook_id", "=", lease.webhookId)
          .where("event_id", "=", eventId.toString())
          .execute();
        await tx.insertInto("webhook_attempts").values(attempt).execute();
      });
    },
    async retry(lease, eventId, attempts, nextAt, attempt) {
      await db.transaction().execute(async (tx) => {
        await fence(tx, lease);
        await tx
          .updateTable("webhook_pending")
          .set({ attempts, next_attempt_at: nextAt })
          .where("organization_id", "=", lease.organizationId)
          .where("webhook_id", "=", lease.webhookId)
          .where("event_id", "=", eventId.toString())
          .execute();
        await tx.insertInto("webhook_attempts").values(attempt).execute();
      });
    },
    async disable(lease, eventId, reason, attempt, url) {
      await log.transact(async (tx) => {
        await fence(tx, lease);
        const now = new Date();
        await tx
          .updateTable("webhooks")
          .set({ enabled: false, disabled_reason: reason, updated_at: now })
          .where("id", "=", lease.webhookId)
          .where("organization_id", "=", lease.organizationId)
          .execute();
        await tx
          .updateTable("webhook_pending")
          .set({ attempts: 0, next_attempt_at: now })
          .where("organization_id", "=", lease.organizationId)
          .where("webhook_id", "=", lease.webhookId)
          .where("event_id", "=", eventId.toString())
          .execute();
        await tx.insertInto("webhook_attempts").values(attempt).execute();
        const event: NewEvent = {
          organizationId: lease.organizationId,
          sessionId: "",
          type: "webhook.endpoint.disabled",
          data: { webhookId: lease.webhookId, url, reason, eventId: eventId.toString() },
        };
        return { result: undefined, events: [event] };
      });
    },
    async pruneAttempts(before) {
      const r = await db.deleteFrom("webhook_attempts").where("attempted_at", "<", before).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
