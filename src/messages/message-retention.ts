import type { Logger } from "../logger.js";
import type { MessageStore } from "./message-store.js";

/** Prunes messages older than `maxAgeMs` in the background (never ones still waiting to be sent); returns a stop function. */
export function startMessageRetention(store: MessageStore, policy: { maxAgeMs: number; intervalMs: number }, logger: Logger): () => void {
  let busy = false;
  const run = async () => {
    if (busy) return;
    busy = true;
    try {
      let removed = 0;
      for (let n = -1; n !== 0; ) {
        n = await store.prune(new Date(Date.now() - policy.maxAgeMs));
        removed += n;
      }
      if (removed > 0) logger.info({ removed }, "messages pruned");
    } catch (err) {
      logger.warn({ err }, "message pruning failed");
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void run(), policy.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
