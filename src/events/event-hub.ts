import type { Logger } from "../logger.js";
import type { EventLog } from "./event-log.js";
import type { StoredEvent } from "./stored-event.js";
import { type EventFilter, Subscription } from "./subscription.js";

/** Options of {@link createEventHub}. */
export interface EventHubOptions {
  log: EventLog;
  logger: Logger;
  /** Re-reads the log at least this often, in case a notification was lost. */
  pollIntervalMs: number;
  /** Events read per batch. */
  batchSize?: number;
  /** Push-mode deliveries (events handed to `onReady` consumers) per turn of the event loop before the hub yields. Default 2,000. */
  copiesPerTurn?: number;
}

/**
 * The one subscription hub of a process. It tails the event log from its
 * position (the highest id it has dispatched), woken by local commits, by
 * PostgreSQL notifications from other processes, and by a slow poll; and
 * hands each event to the matching subscribers' bounded buffers.
 *
 * Readers (streams, anything else per subscriber) use one call:
 * `subscribe(filter, capacity, onReady?)`, then either await
 * `subscription.next()` (pull) or, with `onReady`, `take()` what is
 * buffered each time they are called (push). Either way they replay the
 * log themselves up to the returned `from` for anything older, and close
 * the subscription when done. In-process readers of every event (the
 * outbox) use `observe(cb)` instead.
 *
 * Matching subscribers are found by an index (organization → session →
 * subscribers, type checked per subscriber), never by a scan of all. A
 * batch is buffered synchronously (position and delivery move together);
 * push consumers are then called with the event loop yielded every
 * `copiesPerTurn` deliveries, so unary calls keep being answered while a
 * large fan-out is written.
 */
export interface EventHub {
  /** Reads the current end of the log and starts tailing. */
  start(): Promise<void>;
  /** The highest id dispatched so far. Subscribers receive only later ids. */
  position(): bigint;
  /**
   * Registers a subscriber (synchronously, so it receives exactly the events
   * after {@link position} at the time of the call) and returns it with that
   * position, the hand-over point between replay and live delivery.
   * With `onReady`, the subscription is in push mode (see {@link Subscription}).
   */
  subscribe(filter: EventFilter, capacity: number, onReady?: () => void): { subscription: Subscription; from: bigint };
  /** Wakes the tail loop: new events may exist. */
  poke(): void;
  /**
   * Calls `cb` with every event the hub dispatches, of every organization,
   * synchronously and in id order (in-process readers such as the outbox,
   * which wakes when a message is queued through another gateway).
   */
  observe(cb: (e: StoredEvent) => void): void;
  /** Number of live subscribers. */
  size(): number;
  /** Ends every subscription and stops tailing. */
  close(): void;
}

/** Subscribers of one organization: those without a session filter, and by session id. */
interface OrgIndex {
  all: Set<Subscription>;
  bySession: Map<string, Set<Subscription>>;
  count: number;
}

/** Creates the process's {@link EventHub}. */
export function createEventHub(opts: EventHubOptions): EventHub {
  const byOrg = new Map<string, OrgIndex>();
  const batchSize = opts.batchSize ?? 1000;
  const copiesPerTurn = opts.copiesPerTurn ?? 2000;
  let position = 0n;
  let running = false;
  let dirty = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let count = 0;
  const live = new Set<Subscription>();
  const observers: ((e: StoredEvent) => void)[] = [];

  const remove = (s: Subscription) => {
    if (!live.delete(s)) return;
    count--;
    const idx = byOrg.get(s.filter.organizationId);
    if (!idx) return;
    if (s.filter.sessionIds.size === 0) idx.all.delete(s);
    else {
      for (const id of s.filter.sessionIds) {
        const set = idx.bySession.get(id);
        if (set?.delete(s) && set.size === 0) idx.bySession.delete(id);
      }
    }
    if (--idx.count === 0) byOrg.delete(s.filter.organizationId);
  };

  const add = (s: Subscription) => {
    let idx = byOrg.get(s.filter.organizationId);
    if (!idx) byOrg.set(s.filter.organizationId, (idx = { all: new Set(), bySession: new Map(), count: 0 }));
    if (s.filter.sessionIds.size === 0) idx.all.add(s);
    else {
      for (const id of s.filter.sessionIds) {
        let set = idx.bySession.get(id);
        if (!set) idx.bySession.set(id, (set = new Set()));
        set.add(s);
      }
    }
    idx.count++;
    live.add(s);
    count++;
  };

  /** Buffers `rows` in every matching subscription; returns the push-mode ones that got events. */
  const dispatch = (rows: StoredEvent[]): Subscription[] => {
    const ready: Subscription[] = [];
    const give = (s: Subscription, e: StoredEvent) => {
      if (s.filter.types.size !== 0 && !s.filter.types.has(e.type)) return;
      s.push(e);
      if (s.onReady && !s.marked) {
        s.marked = true;
        ready.push(s);
      }
    };
    for (const e of rows) {
      position = e.id;
      for (const cb of observers) {
        try {
          cb(e);
        } catch (err) {
          opts.logger.warn({ err }, "event observer failed");
        }
      }
      const idx = byOrg.get(e.organizationId);
      if (!idx) continue;
      for (const s of idx.all) give(s, e);
      const set = idx.bySession.get(e.sessionId);
      if (set) for (const s of set) give(s, e);
    }
    return ready;
  };

  /** Calls the push consumers, yielding to the event loop every `copiesPerTurn` deliveries. */
  const announce = async (ready: Subscription[]) => {
    let work = 0;
    for (const s of ready) {
      s.marked = false;
      work += Math.max(1, s.pending);
      try {
        s.onReady!();
      } catch (err) {
        opts.logger.error({ err }, "event subscriber failed");
      }
      if (work >= copiesPerTurn) {
        work = 0;
        await new Promise<void>((r) => setImmediate(r));
      }
    }
  };

  const drain = async () => {
    if (running) return;
    running = true;
    try {
      while (dirty && !closed) {
        dirty = false;
        let rows;
        try {
          rows = await opts.log.read({ after: position, limit: batchSize });
        } catch (err) {
          opts.logger.warn({ err }, "event hub could not read the log; retrying");
          await new Promise((r) => setTimeout(r, 1000));
          dirty = true;
          continue;
        }
        // Synchronous: position and buffering move together.
        const ready = dispatch(rows);
        if (ready.length > 0) await announce(ready);
        if (rows.length === batchSize) dirty = true;
      }
    } finally {
      running = false;
    }
  };

  const poke = () => {
    if (closed) return;
    dirty = true;
    void drain();
  };

  return {
    async start() {
      position = await opts.log.latestId();
      opts.log.onAppended(poke);
      timer = setInterval(poke, opts.pollIntervalMs);
      timer.unref();
    },
    position: () => position,
    subscribe(filter, capacity, onReady) {
      const subscription = new Subscription(filter, capacity, remove, onReady);
      if (closed) subscription.end();
      else add(subscription);
      return { subscription, from: position };
    },
    poke,
    observe(cb) {
      observers.push(cb);
    },
    size: () => count,
    close() {
      closed = true;
      if (timer) clearInterval(timer);
      for (const s of [...live]) s.end();
    },
  };
}
