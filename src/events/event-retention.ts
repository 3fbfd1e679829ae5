import type { Logger } from "../logger.js";
import type { EventLog } from "./event-log.js";

/** Retention limits: an event is pruned when older than `maxAgeMs` or beyond the newest `maxCount`. */
export interface RetentionPolicy {
  maxAgeMs: number;
  maxCount: number;
  intervalMs: number;
}

/** Prunes the log in the background; returns a stop function. */
export function startEventRetention(log: EventLog, policy: RetentionPolicy, logger: Logger): () => void {
  let busy = false;
  const run = async () => {
    if (busy) return;
    busy = true;
    try {
      const removed = await log.prune(new Date(Date.now() - policy.maxAgeMs), policy.maxCount);
      if (removed > 0) logger.info({ removed }, "event log pruned");
    } catch (err) {
      logger.warn({ err }, "event log pruning failed");
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void run(), policy.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
