// One WatchEvents stream for the whole console: pages subscribe to it instead of opening their own.
import type { Event } from "../../gen/wagateway/v1/event_pb.js";
import type { Api } from "./api.js";
import { describeError } from "./api.js";

/** A listener of the feed. */
export type EventListener = (ev: Event) => void;

/** The console's live event stream, reconnecting after `after` the last event seen. */
export interface EventFeed {
  /** The latest events, newest first (at most 500). */
  recent(): readonly Event[];
  /** Calls `fn` for every new event; returns the unsubscribe function. */
  subscribe(fn: EventListener): () => void;
  /** Calls `fn` when the connection state changes (undefined: connected). */
  onState(fn: (error: string | undefined) => void): () => void;
  /** Ends the stream. */
  close(): void;
}

/** Starts the feed on `api` (replaying events since `sinceMs` ago so a page opened late still sees them). */
export function startEventFeed(api: Api, sinceMs = 10 * 60_000): EventFeed {
  const listeners = new Set<EventListener>();
  const stateListeners = new Set<(e: string | undefined) => void>();
  const events: Event[] = [];
  const ac = new AbortController();
  let after: string | undefined;
  const setState = (e: string | undefined) => stateListeners.forEach((fn) => fn(e));
  void (async () => {
    const since = BigInt(Date.now() - sinceMs);
    for (let delay = 500; !ac.signal.aborted; delay = Math.min(delay * 2, 10_000)) {
      try {
        const req = after ? { after } : { since };
        for await (const res of api.sessions.watchEvents(req, { signal: ac.signal })) {
          setState(undefined);
          delay = 500;
          if (res.payload.case !== "event") continue;
          const ev = res.payload.value;
          after = ev.id;
          events.unshift(ev);
          if (events.length > 500) events.pop();
          listeners.forEach((fn) => fn(ev));
        }
      } catch (err) {
        if (ac.signal.aborted) return;
        setState(describeError(err));
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  })();
  return {
    recent: () => events,
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    onState(fn) {
      stateListeners.add(fn);
      return () => stateListeners.delete(fn);
    },
    close: () => ac.abort(),
  };
}
