import type { StoredEvent } from "./stored-event.js";

/** Which events a subscriber wants (organization always; sessions and types when non-empty). */
export interface EventFilter {
  organizationId: string;
  sessionIds: ReadonlySet<string>;
  types: ReadonlySet<string>;
}

/** True when `e` passes `f`. */
export function matches(f: EventFilter, e: StoredEvent): boolean {
  return (
    e.organizationId === f.organizationId &&
    (f.sessionIds.size === 0 || f.sessionIds.has(e.sessionId)) &&
    (f.types.size === 0 || f.types.has(e.type))
  );
}

/** What {@link Subscription.next} can resolve with. */
export type NextResult =
  | { kind: "event"; event: StoredEvent }
  | { kind: "idle" } // nothing arrived within the wait
  | { kind: "closed" } // the hub is shutting down
  | { kind: "overflow" } // the buffer filled: the subscriber was too slow
  | { kind: "aborted" };

/**
 * One subscriber's bounded buffer. The hub pushes without ever waiting; when
 * the buffer is full the subscription is marked overflowed and drops further
 * events, so a slow consumer never slows the hub or other subscribers.
 *
 * Two ways to consume it: pull with {@link next} (a reader that awaits), or
 * push: give the hub an `onReady` callback, called once after each batch
 * that added events (and on overflow and end), then {@link take} what is
 * buffered. Every subscriber of one event receives the same `StoredEvent`
 * object, so consumers can cache per-event encodings by identity.
 */
export class Subscription {
  private readonly queue: StoredEvent[] = [];
  private head = 0;
  private state: "open" | "closed" | "overflow" = "open";
  private wake: (() => void) | undefined;
  /** Set by the hub while this subscription has events not yet announced to `onReady`. */
  marked = false;

  constructor(
    readonly filter: EventFilter,
    private readonly capacity: number,
    private readonly onClose: (s: Subscription) => void,
    /** Push mode: called by the hub after a batch added events, and on overflow and end. */
    readonly onReady?: (() => void) | undefined,
  ) {}

  /** Called by the hub for each matching live event. */
  push(e: StoredEvent): void {
    if (this.state !== "open") return;
    if (this.queue.length - this.head >= this.capacity) {
      this.state = "overflow";
      this.queue.length = 0;
      this.head = 0;
    } else {
      this.queue.push(e);
    }
    this.wakeUp();
  }

  /** Ends the subscription from the hub's side (shutdown). */
  end(): void {
    if (this.state === "open") this.state = "closed";
    this.wakeUp();
    this.onReady?.();
  }

  /** Unregisters; call when the consumer is done. */
  close(): void {
    if (this.state === "open") this.state = "closed";
    this.onClose(this);
    this.wakeUp();
  }

  /** True once the buffer overflowed (the consumer must catch up from the log). */
  get overflowed(): boolean {
    return this.state === "overflow";
  }

  /** True once the hub ended the subscription (shutdown) or the consumer closed it. */
  get ended(): boolean {
    return this.state === "closed";
  }

  /** Number of buffered events. */
  get pending(): number {
    return this.queue.length - this.head;
  }

  /** Push mode: the next buffered event, or undefined when none is (see {@link overflowed}, {@link ended}). */
  take(): StoredEvent | undefined {
    if (this.head >= this.queue.length) return undefined;
    const event = this.queue[this.head++]!;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return event;
  }

  /** The next buffered event, or why there is none, waiting at most `waitMs`. */
  async next(waitMs: number, signal: AbortSignal): Promise<NextResult> {
    for (;;) {
      if (signal.aborted) return { kind: "aborted" };
      if (this.state === "overflow") return { kind: "overflow" };
      const event = this.take();
      if (event) return { kind: "event", event };
      if (this.state === "closed") return { kind: "closed" };
      const woke = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => done(false), waitMs);
        const onAbort = () => done(true);
        const done = (v: boolean) => {
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
          this.wake = undefined;
          resolve(v);
        };
        this.wake = () => done(true);
        signal.addEventListener("abort", onAbort, { once: true });
      });
      if (!woke) return { kind: "idle" };
    }
  }

  private wakeUp(): void {
    this.wake?.();
  }
}
