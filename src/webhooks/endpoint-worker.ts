import type { WebhookAttemptRow } from "../db/schema.js";
import type { Logger } from "../logger.js";
import type { StoredEvent } from "../events/stored-event.js";
import { ulid } from "../util/ulid.js";
import type { DeliveryStore, DueEvent, EndpointState, WebhookLease } from "./delivery-store.js";
import { WebhookLeaseLostError } from "./lease-lost.js";
import { webhookMatches } from "./webhook-filter.js";
import type { WebhookMetrics } from "./webhook-metrics.js";
import { webhookBody, webhookHeaders } from "./webhook-payload.js";
import type { SendResult, WebhookSender } from "./webhook-sender.js";

/** Delivery tunables (see `Config.webhooks`). */
export interface DeliveryOptions {
  retryScheduleMs: readonly number[];
  concurrency: number;
  maxPending: number;
  /** Longest wait between rounds when nothing wakes the worker. */
  idleMs: number;
}

/** What a worker is built from. */
export interface WorkerDeps {
  store: DeliveryStore;
  sender: WebhookSender;
  metrics: WebhookMetrics;
  log: Logger;
  options: DeliveryOptions;
}

const readBatch = 500;
const readyBatch = 100;
/** The endpoint row is re-read at least this often while events flow. */
const reloadMs = 1_000;
/** Statuses that mean "slow down". */
const slowDownStatuses = new Set([429, 502, 504]);
const maxRetryAfterMs = 24 * 3_600_000;

/**
 * Delivers one endpoint's events while this gateway holds its lease: takes
 * matching events from the log into the endpoint's queue (cursor and queue
 * move together), POSTs due ones with at most `concurrency` in flight, and
 * records each attempt. Its own loop and its own connections, so a slow
 * endpoint delays nobody else. Stops when the lease is lost or the endpoint
 * disabled.
 */
export class EndpointWorker {
  private stopped = false;
  /** Events being attempted or recorded (never fetched twice). */
  private readonly inFlight = new Set<bigint>();
  /** Requests to the receiver in flight (at most the concurrency). */
  private requests = 0;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  /** No attempts before this time (Retry-After, slow-down). */
  private pausedUntil = 0;
  /** Consecutive slow-down answers; the effective concurrency is 1 while > 0. */
  private slowDowns = 0;
  /** Due events fetched and not yet started. */
  private ready: DueEvent[] = [];
  /** The last fetch filled the ready list: more may be due. */
  private more = false;
  /** The endpoint as of the last round. */
  private state: EndpointState | undefined;
  private pauseTimer: NodeJS.Timeout | undefined;
  private reload = false;
  private loadedAt = 0;
  readonly done: Promise<void>;

  constructor(
    readonly lease: WebhookLease,
    private readonly deps: WorkerDeps,
    private readonly onStop: (w: EndpointWorker) => void,
  ) {
    this.done = this.run();
  }

  /** False once the worker stopped or is stopping. */
  get active(): boolean {
    return !this.stopped;
  }

  /** The endpoint changed (URL, filter, secret, replay): re-read it now. */
  refresh(): void {
    this.reload = true;
    this.wake();
  }

  /** New events may exist. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Ends the loop; attempts in flight finish (their fenced writes decide). */
  stop(): void {
    this.stopped = true;
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    this.ready = [];
    this.wake();
  }

  /** True when the endpoint (as last loaded) takes events of this organization, session and type. */
  wants(organizationId: string, sessionId: string, type: string): boolean {
    const row = this.state?.row;
    if (!row) return true;
    return row.organization_id === organizationId && webhookMatches({ eventTypes: row.event_types, sessions: row.sessions }, { sessionId, type } as StoredEvent);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      this.woken = false;
      try {
        // The row (filter, URL, secrets, queue size) is re-read when stale or changed;
        // in between, fill's own lease check fences the round.
        let state = this.state;
        if (!state || this.reload || Date.now() - this.loadedAt > reloadMs) {
          this.reload = false;
          this.loadedAt = Date.now();
          state = await this.deps.store.load(this.lease);
          if (!state) break;
        }
        await this.fill(state);
        const next = await this.dispatch(state);
        failures = 0;
        await this.sleep(next);
      } catch (err) {
        if (err instanceof WebhookLeaseLostError) break;
        failures++;
        this.deps.log.warn({ webhookId: this.lease.webhookId, err }, "webhook delivery round failed; retrying");
        await this.sleep(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)));
      }
    }
    this.stopped = true;
    this.onStop(this);
  }

  /** Takes matching events from the log into the queue, up to `maxPending` waiting. */
  private async fill(state: EndpointState): Promise<void> {
    const { row } = state;
    const filter = { eventTypes: row.event_types, sessions: row.sessions };
    while (!this.stopped) {
      const room = this.deps.options.maxPending - state.pending;
      if (room <= 0) return;
      const limit = Math.min(readBatch, room);
      const { read, queued, fresh } = await this.deps.store.fill(this.lease, filter, limit);
      state.pending += queued;
      // Newly queued events are due now: straight into the ready list (a fetch would return them too).
      if (this.ready.length < readyBatch) this.ready.push(...fresh.slice(0, readyBatch - this.ready.length));
      if (fresh.length > 0 && this.ready.length >= readyBatch) this.more = true;
      if (read < limit) return;
    }
  }

  /**
   * Fetches due events into the ready list when it is empty, and starts
   * attempts from it. Returns how long to sleep before the next round.
   */
  private async dispatch(state: EndpointState): Promise<number> {
    const { idleMs } = this.deps.options;
    this.state = state;
    const now = Date.now();
    if (this.pausedUntil > now) return Math.min(idleMs, this.pausedUntil - now);
    if (this.ready.length === 0 && state.pending > this.inFlight.size) {
      const fetched = await this.deps.store.due(this.lease, readyBatch, this.inFlight);
      this.ready.push(...fetched);
      if (fetched.length === readyBatch) this.more = true;
    }
    this.pump();
    if (this.ready.length > 0 || this.more) return idleMs; // finishing attempts keep the ready list moving
    if (state.pending <= this.inFlight.size) return idleMs;
    // Some queued events wait for a later retry: sleep until the earliest.
    const skip = new Set(this.inFlight);
    const next = await this.deps.store.nextDue(this.lease, skip);
    return next === undefined ? idleMs : Math.max(5, Math.min(idleMs, next.getTime() - Date.now()));
  }

  /** Starts attempts from the ready list while slots are free (no database round trip). */
  private pump(): void {
    const state = this.state;
    if (!state || this.stopped) return;
    if (this.pausedUntil > Date.now()) {
      this.wakeAt(this.pausedUntil);
      return;
    }
    const cap = this.slowDowns > 0 ? 1 : this.deps.options.concurrency;
    while (this.requests < cap && this.ready.length > 0) {
      const d = this.ready.shift()!;
      if (this.inFlight.has(d.eventId)) continue;
      this.inFlight.add(d.eventId);
      this.requests++;
      let released = false;
      // The slot frees when the receiver has answered; recording the attempt goes on beside the next request.
      const release = () => {
        if (released) return;
        released = true;
        this.requests--;
        if (this.ready.length > 0) this.pump();
      };
      void this.attempt(state, d, release).finally(() => {
        release();
        this.inFlight.delete(d.eventId);
        if (this.ready.length > 0) this.pump();
        else {
          this.more = false;
          this.wake();
        }
      });
    }
  }

  private wakeAt(at: number): void {
    if (this.pauseTimer) return;
    this.pauseTimer = setTimeout(() => {
      this.pauseTimer = undefined;
      this.wake();
    }, Math.max(0, at - Date.now()));
  }

  private async attempt(state: EndpointState, d: DueEvent, release: () => void): Promise<void> {
    const { store, sender, metrics, log, options } = this.deps;
    const row = state.row;
    const attemptNo = d.attempts + 1;
    const record = (e: { id: string; type: string }, r: SendResult | undefined, error?: string): WebhookAttemptRow => ({
      id: ulid(),
      organization_id: row.organization_id,
      webhook_id: row.id,
      event_id: e.id,
      event_type: e.type,
      attempt: attemptNo,
      outcome: r?.kind === "succeeded" ? "succeeded" : "failed",
      http_status: r?.status ?? null,
      error: error ?? r?.error ?? null,
      duration_ms: r?.durationMs ?? 0,
      attempted_at: new Date(),
    });
    try {
      if (!d.event) {
        // Retention removed the event before it could be delivered.
        await store.settle(this.lease, d.eventId, record({ id: d.eventId.toString(), type: "" }, undefined, "the event was removed by retention before delivery"));
        state.pending--;
        return;
      }
      const e: StoredEvent = d.event;
      const body = webhookBody(e);
      const secrets = [row.secret];
      if (row.previous_secret && row.previous_secret_until && row.previous_secret_until.getTime() > Date.now()) secrets.push(row.previous_secret);
      const id = e.id.toString();
      const res = await sender.send(row.id, { url: row.url, headers: webhookHeaders(id, body, secrets), body }, options.concurrency);
      metrics.attempt(res.kind);
      if (res.kind === "succeeded") release();
      const attempt = record({ id, type: e.type }, res);
      if (res.kind === "succeeded") {
        this.slowDowns = 0;
        await store.settle(this.lease, e.id, attempt);
        state.pending--;
        metrics.delivered(Math.max(0, Date.now() - e.occurredAt.getTime()) / 1000);
        return;
      }
      if (res.status === 410) {
        await store.disable(this.lease, e.id, "gone", attempt, row.url);
        log.warn({ webhookId: row.id }, "webhook endpoint disabled: the receiver answered 410 Gone");
        this.stop();
        return;
      }
      if (attemptNo >= options.retryScheduleMs.length) {
        await store.disable(this.lease, e.id, "failing", attempt, row.url);
        log.warn({ webhookId: row.id, eventId: id }, "webhook endpoint disabled: an event failed past the retry schedule");
        this.stop();
        return;
      }
      let delay = options.retryScheduleMs[attemptNo]!;
      const retryAfter = res.retryAfterMs === undefined ? undefined : Math.min(maxRetryAfterMs, res.retryAfterMs);
      if (retryAfter !== undefined) delay = Math.max(delay, retryAfter);
      if (res.status !== undefined && slowDownStatuses.has(res.status)) {
        // Slow down: one request at a time, and a pause that grows with each such answer.
        this.slowDowns++;
        const pause = Math.max(retryAfter ?? 0, Math.min(60_000, 250 * 2 ** Math.min(this.slowDowns, 8)));
        this.pausedUntil = Math.max(this.pausedUntil, Date.now() + pause);
      } else if (retryAfter !== undefined) {
        this.pausedUntil = Math.max(this.pausedUntil, Date.now() + retryAfter);
      }
      await store.retry(this.lease, e.id, attemptNo, new Date(Date.now() + delay), attempt);
    } catch (err) {
      if (err instanceof WebhookLeaseLostError) {
        this.stop();
        return;
      }
      log.warn({ webhookId: row.id, eventId: d.eventId.toString(), err }, "recording a webhook attempt failed; the event stays queued");
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken || this.stopped || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = undefined;
        done();
      };
    });
  }
}
