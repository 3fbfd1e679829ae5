import type { Client } from "@connectrpc/connect";
import type { Event } from "../../gen/wagateway/v1/event_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { SessionService, WatchEventsRequestSchema } from "../../gen/wagateway/v1/session_service_pb.js";

/** A live WatchEvents stream read in the background into an array. */
export interface EventTap {
  events: Event[];
  heartbeats: number;
  /** The error that ended the stream, if any. */
  error: unknown;
  /** Resolves once the stream has sent its first message (headers are flowing). */
  ready: Promise<void>;
  /** Resolves when `events.length >= n` (rejects after `timeoutMs` or if the stream ends first). */
  waitFor(n: number, timeoutMs?: number): Promise<Event[]>;
  /** Cancels the stream. */
  stop(): Promise<void>;
  /** Resolves when the stream has ended by itself. */
  ended: Promise<void>;
}

/** Opens WatchEvents with `req` and taps it. */
export function tapEvents(client: Client<typeof SessionService>, req: MessageInitShape<typeof WatchEventsRequestSchema> = {}): EventTap {
  const ac = new AbortController();
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  const waiters: (() => void)[] = [];
  const tap: EventTap = {
    events: [],
    heartbeats: 0,
    error: undefined,
    ready,
    ended: Promise.resolve(),
    waitFor(n, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (tap.events.length >= n) {
            resolve(tap.events.slice(0, n));
            return true;
          }
          return false;
        };
        if (check()) return;
        const timer = setTimeout(() => reject(new Error(`only ${tap.events.length} of ${n} events after ${timeoutMs} ms (error: ${String(tap.error)})`)), timeoutMs);
        const w = () => {
          if (check()) clearTimeout(timer);
          else if (done) {
            clearTimeout(timer);
            reject(new Error(`stream ended after ${tap.events.length} of ${n} events: ${String(tap.error)}`));
          } else waiters.push(w);
        };
        waiters.push(w);
      });
    },
    async stop() {
      ac.abort();
      await tap.ended;
    },
  };
  let done = false;
  const notify = () => {
    const ws = waiters.splice(0);
    for (const w of ws) w();
  };
  tap.ended = (async () => {
    try {
      for await (const res of client.watchEvents(req, { signal: ac.signal })) {
        markReady();
        if (res.payload.case === "event") tap.events.push(res.payload.value);
        else tap.heartbeats++;
        notify();
      }
    } catch (err) {
      if (!ac.signal.aborted) tap.error = err;
    } finally {
      done = true;
      markReady();
      notify();
    }
  })();
  return tap;
}
