import { type Kysely, sql, type Transaction } from "kysely";
import { liveGatewayIds } from "../cluster/live-gateways.js";
import type { Database, EventRow, WebhookAttemptRow, WebhookRow } from "../db/schema.js";
import type { EventLog } from "../events/event-log.js";
import type { NewEvent } from "../events/event-types.js";
import { type StoredEvent, toStoredEvent } from "../events/stored-event.js";
import { WebhookLeaseLostError } from "./lease-lost.js";
import type { WebhookFilter } from "./webhook-filter.js";

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
  /**
   * Reads up to `limit` events after the endpoint's cursor from the log,
   * queues the ones its filter takes and moves the cursor past all of them,
   * in one statement (the endpoint row is locked for it, so a replay's
   * rewind is never overwritten). Returns how many events were read and
   * queued, and the newly queued ones with their events (due at once, so the
   * first attempt needs no further read).
   */
  fill(lease: WebhookLease, filter: WebhookFilter, limit: number): Promise<{ read: number; queued: number; fresh: DueEvent[] }>;
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
  /** Organization, session and type of the events after `after` (at most `limit`), to wake only the endpoints they concern. */
  newEvents(after: bigint, limit: number): Promise<{ id: bigint; organizationId: string; sessionId: string; type: string }[]>;
  /** The highest event id. */
  latestEventId(): Promise<bigint>;
  /** Deletes attempts recorded before `before`. */
  pruneAttempts(before: Date): Promise<number>;
}

/** The endpoint row, share-locked, when `lease` still holds it (a CTE body). */
function fenceSql(lease: WebhookLease) {
  return sql`select id from webhooks
    where id = ${lease.webhookId} and organization_id = ${lease.organizationId}
      and lease_holder = ${lease.holder} and lease_epoch = ${lease.epoch} and enabled
    for share`;
}

/** Inserts `a` only when the fence CTE `w` found the row (a CTE body). */
function insertAttemptSql(a: WebhookAttemptRow) {
  return sql`insert into webhook_attempts (id, organization_id, webhook_id, event_id, event_type, attempt, outcome, http_status, error, duration_ms, attempted_at)
    select ${a.id}, ${a.organization_id}, ${a.webhook_id}, ${a.event_id}, ${a.event_type}, ${a.attempt}, ${a.outcome}, ${a.http_status}, ${a.error}, ${a.duration_ms}, ${a.attempted_at}
    from w returning 1`;
}

/** SQL condition on `e.type` for a type list: exact types and `prefix.*` patterns; empty: true. */
function typeCondition(patterns: readonly string[]) {
  if (patterns.length === 0) return sql`true`;
  const exact = patterns.filter((p) => !p.endsWith(".*"));
  const prefixes = patterns.filter((p) => p.endsWith(".*")).map((p) => p.slice(0, -1));
  const parts = [];
  if (exact.length > 0) parts.push(sql`e.type = any(${exact}::text[])`);
  for (const p of prefixes) parts.push(sql`starts_with(e.type, ${p})`);
  return sql`(${sql.join(parts, sql` or `)})`;
}

/** One delivered event waiting to be recorded. */
interface Settlement {
  lease: WebhookLease;
  eventId: bigint;
  attempt: WebhookAttemptRow;
}

/**
 * Group commit for settlements: while one statement records a batch (fence,
 * dequeue and attempt rows for many endpoints at once), the next batch
 * gathers. Each caller learns whether its own lease still held.
 */
function createSettler(db: Kysely<Database>) {
  let queue: { s: Settlement; resolve: () => void; reject: (e: unknown) => void }[] = [];
  let running = false;
  const maxBatch = 500;
  const flush = async () => {
    running = true;
    try {
      while (queue.length > 0) {
        const batch = queue.slice(0, maxBatch);
        queue = queue.slice(batch.length);
        try {
          const held = await settleBatch(db, batch.map((b) => b.s));
          for (const b of batch) {
            if (held.has(`${b.s.lease.webhookId}|${b.s.eventId}`)) b.resolve();
            else b.reject(new WebhookLeaseLostError(b.s.lease.webhookId));
          }
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      running = false;
    }
  };
  return {
    add(s: Settlement): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        queue.push({ s, resolve, reject });
        if (!running) {
          running = true;
          setImmediate(() => void flush());
        }
      });
    },
  };
}

/** Records a batch of settlements in one statement; returns `webhookId|eventId` of those whose lease held. */
async function settleBatch(db: Kysely<Database>, batch: Settlement[]): Promise<Set<string>> {
  const values = batch.map(
    ({ lease, eventId, attempt: a }) => sql`(${lease.webhookId}::text, ${lease.organizationId}::text, ${lease.holder}::text, ${lease.epoch}::bigint, ${eventId.toString()}::bigint,
      ${a.id}::text, ${a.event_id}::text, ${a.event_type}::text, ${a.attempt}::int, ${a.outcome}::text, ${a.http_status}::int, ${a.error}::text, ${a.duration_ms}::int, ${a.attempted_at}::timestamptz)`,
  );
  const { rows } = await sql<{ webhook_id: string; event_id: string }>`
    with i (webhook_id, org, holder, epoch, event_id, a_id, a_event_id, a_type, a_attempt, a_outcome, a_status, a_error, a_duration, a_at) as (
      values ${sql.join(values)}
    ), w as (
      select i.* from i join webhooks k
        on k.id = i.webhook_id and k.organization_id = i.org and k.lease_holder = i.holder and k.lease_epoch = i.epoch and k.enabled
      for share of k
    ), d as (
      delete from webhook_pending p using w
      where p.organization_id = w.org and p.webhook_id = w.webhook_id and p.event_id = w.event_id
      returning 1
    ), a as (
      insert into webhook_attempts (id, organization_id, webhook_id, event_id, event_type, attempt, outcome, http_status, error, duration_ms, attempted_at)
      select a_id, org, webhook_id, a_event_id, a_type, a_attempt, a_outcome, a_status, a_error, a_duration, a_at from w
      returning 1
    )
    select webhook_id, event_id::text as event_id from w`.execute(db);
  return new Set(rows.map((r) => `${r.webhook_id}|${r.event_id}`));
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

  const settler = createSettler(db);
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
    async fill(lease, filter, limit) {
      const sessions = filter.sessions.length > 0 ? sql`and e.session_id = any(${[...filter.sessions]}::text[])` : sql``;
      const types = typeCondition(filter.eventTypes);
      type FillRow = { held: string | number; read: string | number; queued: string | number } & Partial<EventRow>;
      const { rows } = await sql<FillRow>`
        with w as (
          select id, cursor from webhooks
          where id = ${lease.webhookId} and organization_id = ${lease.organizationId}
            and lease_holder = ${lease.holder} and lease_epoch = ${lease.epoch} and enabled
          for update
        ), e as (
          select e.id, e.organization_id, e.session_id, e.type, e.data, e.occurred_at from events e, w
          where e.organization_id = ${lease.organizationId} and e.id > w.cursor ${sessions}
          order by e.id limit ${limit}
        ), ins as (
          insert into webhook_pending (organization_id, webhook_id, event_id, next_attempt_at)
          select ${lease.organizationId}, ${lease.webhookId}, e.id, now() from e where ${types}
          on conflict (webhook_id, event_id) do nothing
          returning event_id
        ), upd as (
          update webhooks set cursor = (select max(id) from e)
          where id = (select id from w) and organization_id = ${lease.organizationId} and exists (select 1 from e)
          returning 1
        )
        select c.held, c.read, c.queued, q.id, q.organization_id, q.session_id, q.type, q.data, q.occurred_at
        from (select (select count(*) from w) as held, (select count(*) from e) as read, (select count(*) from ins) as queued) c
        left join (select e.* from e join ins on ins.event_id = e.id) q on true
        order by q.id`.execute(db);
      const r = rows[0]!;
      if (Number(r.held) === 0) throw new WebhookLeaseLostError(lease.webhookId);
      const fresh: DueEvent[] = [];
      for (const row of rows) {
        if (row.id == null) continue;
        const event = toStoredEvent(row as EventRow);
        fresh.push({ eventId: event.id, attempts: 0, event });
      }
      return { read: Number(r.read), queued: Number(r.queued), fresh };
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
    settle: (lease, eventId, attempt) => settler.add({ lease, eventId, attempt }),
    async retry(lease, eventId, attempts, nextAt, attempt) {
      const { rows } = await sql<{ held: string | number }>`
        with w as (${fenceSql(lease)}), u as (
          update webhook_pending p set attempts = ${attempts}, next_attempt_at = ${nextAt}
          from w
          where p.organization_id = ${lease.organizationId} and p.webhook_id = w.id and p.event_id = ${eventId.toString()}
          returning 1
        ), a as (${insertAttemptSql(attempt)})
        select count(*) as held from w`.execute(db);
      if (Number(rows[0]!.held) === 0) throw new WebhookLeaseLostError(lease.webhookId);
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
    async newEvents(after, limit) {
      const rows = await db
        .selectFrom("events")
        .select(["id", "organization_id", "session_id", "type"])
        .where("id", ">", after.toString() as never)
        .orderBy("id")
        .limit(limit)
        .execute();
      return rows.map((r) => ({ id: BigInt(r.id), organizationId: r.organization_id, sessionId: r.session_id, type: r.type }));
    },
    latestEventId: () => log.latestId(),
    async pruneAttempts(before) {
      const r = await db.deleteFrom("webhook_attempts").where("attempted_at", "<", before).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
