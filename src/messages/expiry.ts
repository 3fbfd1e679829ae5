import { validationError } from "../errors/api-error.js";
import type { Logger } from "../logger.js";
import type { SendingStore } from "./sending-store.js";

/**
 * Fails queued messages past their expiry every `intervalMs`, on every
 * gateway and for every session (held, stopped or not placed anywhere):
 * a message that could not go out in time is `failed`/`expired` and never
 * goes out later by surprise. Returns a stop function.
 */
export function startMessageExpiry(store: SendingStore, intervalMs: number, logger: Logger): () => void {
  let busy = false;
  const run = async () => {
    if (busy) return;
    busy = true;
    try {
      let expired = 0;
      for (let n = -1; n !== 0; ) {
        n = await store.expireDue(new Date());
        expired += n;
      }
      if (expired > 0) logger.info({ expired }, "queued messages expired");
    } catch (err) {
      logger.warn({ err }, "message expiry failed");
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void run(), intervalMs);
  timer.unref();
  void run();
  return () => clearInterval(timer);
}

/** The longest `ttlMs` a message may ask for. */
export const maxMessageTtlMs = 7 * 24 * 3_600_000;

/** A send's time to live: its own `ttlMs` (1 s to 7 days) or the gateway's `MESSAGE_TTL_MS`. */
export function messageTtlMs(requested: bigint | undefined, fallback: number): number {
  if (requested === undefined) return fallback;
  if (requested < 1000n || requested > BigInt(maxMessageTtlMs)) throw validationError({ ttlMs: `must be between 1000 and ${maxMessageTtlMs} ms` });
  return Number(requested);
}
