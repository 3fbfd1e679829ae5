import type { Logger } from "../logger.js";
import type { EventLog } from "./event-log.js";
import type { StoredEvent } from "./stored-event.js";
import { type EventFilter, matches, Subscription } from "./subscription.js";

/** Options of {@link createEventHub}. */
export interface EventHubOptions {
  log: EventLog;
  logger: Logger;
  /** Re-reads the log at least this often, in case a notification was lost. */
  pollIntervalMs: number;
  /** Events read per batch. */
  batchSize?: number;
}

/**
 * The one subscription hub of a process. It tails the event log from its
 * position (the highest id it has dispatched), woken by local commits, by
 * PostgreSQL notifications from other processes, and by a slow poll; and
 * hands each event to the matching subscribers' bounded buffers.
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
   */
  subscribe(filter: EventFilter, capacity: number): { subscription: Subscription; from: bigint };
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

/** Creates the process's {@link EventHub}. */
export function createEventHub(opts: EventHubOptions): EventHub {
  const byOrg = new Map<string, Set<Subscription>>();
  const batchSize = opts.batchSize ?? 1000;
  let position = 0n;
  let running = false;
  let dirty = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let count = 0;
  const observers: ((e: StoredEvent) => void)[] = [];

  const remove = (s: Subscription) => {
    const set = byOrg.get(s.filter.organizationId);
    if (set?.delete(s)) {
      count--;
      if (set.size === 0) byOrg.delete(s.filter.organizationId);
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
          opts.logger.warn("event hub could not read the log; retrying", { err });
          await new Promise((r) => setTimeout(r, 1000));
          dirty = true;
          continue;
        }
        // Synchronous from here: position and delivery move together.
        for (const e of rows) {
          position = e.id;
          const subs = byOrg.get(e.organizationId);
          if (subs) for (const s of subs) if (matches(s.filter, e)) s.push(e);
          for (const cb of observers) {
            try {
              cb(e);
            } catch (err) {
              opts.logger.warn("event observer failed", { err });
            }
          }
        }
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
    subscribe(filter, capacity) {
      const subscription = new Subscription(filter, capacity, remove);
      if (closed) subscription.end();
      else {
        let set = byOrg.get(filter.organizationId);
        if (!set) byOrg.set(filter.organizationId, (set = new Set()));
        set.add(subscription);
        count++;
      }
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
      for (const set of byOrg.values()) for (const s of set) s.end();
    },
  };
}
