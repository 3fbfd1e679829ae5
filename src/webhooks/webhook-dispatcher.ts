import type { Logger } from "../logger.js";
import type { DeliveryStore } from "./delivery-store.js";
import { type DeliveryOptions, EndpointWorker } from "./endpoint-worker.js";
import type { WebhookMetrics } from "./webhook-metrics.js";
import type { WebhookSender } from "./webhook-sender.js";

/** What the dispatcher is built from. */
export interface DispatcherOptions {
  store: DeliveryStore;
  sender: WebhookSender;
  metrics: WebhookMetrics;
  log: Logger;
  delivery: DeliveryOptions;
  /** How often endpoints nobody delivers for are taken up (`WEBHOOK_SCAN_MS`). */
  scanMs: number;
  /** Attempts older than this are deleted. */
  attemptRetentionMs: number;
}

/**
 * The webhook deliverer of one gateway: it leases every endpoint no live
 * gateway delivers for (fenced, like session leases), runs one
 * {@link EndpointWorker} per endpoint it holds, and wakes them when the
 * event log grows.
 */
export interface WebhookDispatcher {
  /** Starts delivering as `holder` (this gateway's incarnation id). */
  start(holder: string): void;
  /** New events were appended. */
  poke(): void;
  /** An endpoint changed here (created, updated, replayed): take it up or wake it now. */
  changed(webhookId: string): void;
  /** Stops every worker here (e.g. this gateway's liveness lapsed); the next scan takes leases again. */
  suspend(): void;
  /** Number of endpoints this gateway delivers for. */
  size(): number;
  /** Stops delivering and gives the leases up for another gateway. */
  close(): Promise<void>;
}

const wakeBatch = 1000;
/** Up to this many endpoints here, every wake-up wakes them all. */
const wakeAllBelow = 8;

/** Creates the {@link WebhookDispatcher}. */
export function createWebhookDispatcher(opts: DispatcherOptions): WebhookDispatcher {
  const workers = new Map<string, EndpointWorker>();
  let holder: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let scanning: Promise<void> | undefined;
  let again = false;
  let closed = false;
  let lastPrune = 0;
  /** The highest event id the wake-up filter has looked at. */
  let position: bigint | undefined;
  let reading = false;
  let readAgain = false;

  /**
   * Wakes only the workers whose endpoint takes at least one of the new
   * events (organization, session, type): one read of the log per wake-up
   * instead of one per endpoint. Any doubt wakes everyone.
   */
  const wakeConcerned = async () => {
    if (reading) {
      readAgain = true;
      return;
    }
    reading = true;
    try {
      do {
        readAgain = false;
        if (workers.size <= wakeAllBelow) {
          // Few endpoints: waking them all is cheaper than a read, and a round sooner.
          for (const w of workers.values()) w.wake();
          position = undefined;
          continue;
        }
        try {
          if (position === undefined) {
            for (const w of workers.values()) w.wake();
            position = await opts.store.latestEventId();
            continue;
          }
          const events = await opts.store.newEvents(position, wakeBatch);
          if (events.length === wakeBatch) {
            for (const w of workers.values()) w.wake();
            position = await opts.store.latestEventId();
            continue;
          }
          for (const e of events) {
            position = e.id;
            for (const w of workers.values()) if (w.wants(e.organizationId, e.sessionId, e.type)) w.wake();
          }
        } catch (err) {
          opts.log.warn({ err }, "webhook wake-up read failed; waking every endpoint");
          for (const w of workers.values()) w.wake();
          position = undefined;
        }
      } while (readAgain && !closed);
    } finally {
      reading = false;
    }
  };

  const deps = { store: opts.store, sender: opts.sender, metrics: opts.metrics, log: opts.log, options: opts.delivery };
  const onStop = (w: EndpointWorker) => {
    // A worker replaced by a newer one (a new epoch) leaves the endpoint's connections to it.
    if (workers.get(w.lease.webhookId) !== w) return;
    workers.delete(w.lease.webhookId);
    opts.sender.forget(w.lease.webhookId);
  };

  const scanOnce = async () => {
    if (!holder || closed) return;
    await opts.store.claim(holder);
    const held = await opts.store.held(holder);
    if (closed) return;
    const keep = new Set<string>();
    for (const lease of held) {
      keep.add(lease.webhookId);
      const w = workers.get(lease.webhookId);
      if (w && w.active && w.lease.epoch === lease.epoch) continue;
      w?.stop();
      workers.set(lease.webhookId, new EndpointWorker(lease, deps, onStop));
    }
    for (const [id, w] of workers) if (!keep.has(id)) w.stop();
    if (Date.now() - lastPrune > 60_000) {
      lastPrune = Date.now();
      await opts.store.pruneAttempts(new Date(Date.now() - opts.attemptRetentionMs));
    }
  };

  const scan = () => {
    if (scanning) {
      again = true;
      return scanning;
    }
    scanning = (async () => {
      try {
        do {
          again = false;
          await scanOnce().catch((err: unknown) => opts.log.warn({ err }, "webhook lease scan failed; retrying"));
        } while (again && !closed);
      } finally {
        scanning = undefined;
      }
    })();
    return scanning;
  };

  return {
    start(h) {
      holder = h;
      void scan();
      timer = setInterval(() => void scan(), opts.scanMs);
      timer.unref();
    },
    poke() {
      void wakeConcerned();
    },
    changed(webhookId) {
      const w = workers.get(webhookId);
      if (w) w.refresh();
      void scan();
    },
    suspend() {
      for (const w of workers.values()) w.stop();
    },
    size: () => workers.size,
    async close() {
      closed = true;
      if (timer) clearInterval(timer);
      await scanning;
      const all = [...workers.values()];
      for (const w of all) w.stop();
      await Promise.race([Promise.all(all.map((w) => w.done)), new Promise((r) => setTimeout(r, 2_000).unref())]);
      if (holder) await opts.store.release(holder).catch(() => {});
      opts.sender.close();
    },
  };
}
