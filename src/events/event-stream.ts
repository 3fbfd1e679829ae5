import { create } from "@bufbuild/protobuf";
import { type WatchEventsResponse, WatchEventsResponseSchema } from "../../gen/wagateway/v1/session_service_pb.js";
import { apiError } from "../errors/api-error.js";
import type { EventHub } from "./event-hub.js";
import type { EventLog } from "./event-log.js";
import { toEventMessage } from "./event-message.js";
import type { MessageSink, OutgoingMessage } from "../server/message-sink.js";
import type { StoredEvent } from "./stored-event.js";
import type { EventFilter, Subscription } from "./subscription.js";

/** Tunables of an event stream. */
export interface EventStreamOptions {
  /** Live events a subscriber may have pending (client not reading) before it falls back to reading the log. */
  bufferSize: number;
  /** A heartbeat is sent after this long without a write. */
  heartbeatMs: number;
  /** A client that accepts nothing for this long while events pile up is stalled: its stream ends with a resume error. */
  stallMs: number;
}

/** Where a stream starts: live only, after an event id, or from a time. */
export interface EventStreamStart {
  filter: EventFilter;
  after: bigint | undefined;
  since: Date | undefined;
}

const replayBatch = 500;

/** One event as an outgoing message: keyed by the hub's shared `StoredEvent`, so every stream writes the same bytes. */
export function eventMessage(e: StoredEvent): OutgoingMessage<WatchEventsResponse> {
  return { key: e, heartbeat: false, message: () => create(WatchEventsResponseSchema, { payload: { case: "event", value: toEventMessage(e) } }) };
}

function heartbeatMessage(): OutgoingMessage<WatchEventsResponse> {
  const serverTime = BigInt(Date.now());
  return { key: undefined, heartbeat: true, message: () => create(WatchEventsResponseSchema, { payload: { case: "heartbeat", value: { serverTime } } }) };
}

/**
 * Runs one event stream into `sink` and resolves when it ends: the client
 * went away (`signal`) or the hub shut down; rejects with `unavailable`
 * naming the id to resume after when the client stalled.
 *
 * The stream registers with the hub first, writes a heartbeat (so headers
 * reach the client at once), replays the log from `after` (or `since`) up to
 * the hub's position at registration, then writes live events as the hub
 * announces them, skipping any id already sent: no gap, no duplicate at the
 * hand-over. Live events are written straight to the connection while it
 * accepts them (corked per batch); while it does not, they wait in the
 * subscription's bounded buffer. When a burst overflows that buffer, the
 * stream catches up from the log and re-attaches (lossless, nothing blocks).
 * When the client itself is stalled (a write pending and no byte taken for
 * `stallMs` while events pile up for it), the stream ends with `unavailable`.
 */
export function runEventStream(
  hub: EventHub,
  log: EventLog,
  opts: EventStreamOptions,
  start: EventStreamStart,
  sink: MessageSink<WatchEventsResponse>,
  signal: AbortSignal,
): Promise<void> {
  const { filter } = start;
  const stallPollMs = Math.max(5, Math.min(1000, Math.floor(opts.stallMs / 10)));
  return new Promise<void>((resolve, reject) => {
    let sub: Subscription | undefined;
    let from = 0n;
    let last = 0n;
    let blocked = false;
    let busy = false; // replaying from the log
    let ended = false;
    let lastWrite = Date.now();
    let heartbeatTimer: NodeJS.Timeout | undefined;
    let stallTimer: NodeJS.Timeout | undefined;
    // While a write is pending: when the client last took a byte, and how much was buffered then.
    let progressAt = 0;
    let progressMark = 0;
    let drainWaiter: (() => void) | undefined;

    const finish = (err?: unknown) => {
      if (ended) return;
      ended = true;
      clearTimeout(heartbeatTimer);
      clearTimeout(stallTimer);
      signal.removeEventListener("abort", onAbort);
      sub?.close();
      const w = drainWaiter;
      drainWaiter = undefined;
      w?.();
      if (err === undefined) resolve();
      else reject(err);
    };
    const onAbort = () => finish();

    const write = (m: OutgoingMessage<WatchEventsResponse>) => {
      lastWrite = Date.now();
      if (!sink.send(m)) {
        blocked = true;
        progressAt = lastWrite;
        progressMark = sink.buffered();
        sink.onDrain(onDrain);
        watchStall();
      }
    };

    const onDrain = () => {
      if (ended || !blocked) return;
      blocked = false;
      clearTimeout(stallTimer);
      stallTimer = undefined;
      const w = drainWaiter;
      drainWaiter = undefined;
      if (w) w();
      else flush();
    };

    const waitDrain = () => (blocked && !ended ? new Promise<void>((r) => (drainWaiter = r)) : Promise.resolve());

    const stalled = () =>
      apiError("unavailable", `the client stopped reading and fell behind; resume with after=${last}`, {
        metadata: { resume_after: last.toString() },
      });

    const subscribe = () => {
      ({ subscription: sub, from } = hub.subscribe(filter, opts.bufferSize, onReady));
    };

    /** Replays matching events with cursor < id <= upTo from the log. */
    const replay = async (cursor: bigint, upTo: bigint, since?: Date) => {
      for (;;) {
        const batch = await log.read({
          after: cursor,
          upTo,
          organizationId: filter.organizationId,
          sessionIds: [...filter.sessionIds],
          types: [...filter.types],
          since,
          limit: replayBatch,
        });
        sink.cork();
        try {
          for (const e of batch) {
            if (blocked) {
              sink.uncork();
              await waitDrain();
              sink.cork();
            }
            if (ended) return;
            write(eventMessage(e));
            cursor = e.id;
            if (e.id > last) last = e.id;
          }
        } finally {
          sink.uncork();
        }
        if (batch.length < replayBatch) return;
      }
    };

    /** Catches up from the log after an overflow, then continues live. */
    const catchUp = () => {
      busy = true;
      sub!.close();
      subscribe();
      if (sub!.ended) return finish();
      replay(last, from)
        .then(() => {
          busy = false;
          if (from > last) last = from;
          flush();
        })
        .catch(finish);
    };

    /** Writes what the subscription holds, while the connection accepts it. */
    const flush = () => {
      if (ended || busy || !sub) return;
      if (sub.overflowed) {
        // A blocked client is caught up once it reads again, or ended by the stall watch.
        if (!blocked) return catchUp();
        if (stalledFor(Date.now()) >= opts.stallMs) finish(stalled());
        return;
      }
      if (blocked) return;
      const many = sub.pending > 1;
      if (many) sink.cork();
      for (let e = sub.take(); e; e = blocked ? undefined : sub.take()) {
        if (e.id <= last) continue;
        last = e.id;
        write(eventMessage(e));
      }
      if (many) sink.uncork();
      if (sub.ended && sub.pending === 0 && !blocked) finish();
    };

    /** How long the blocked client has taken no byte (its buffered bytes did not go down), sampled now. */
    const stalledFor = (now: number) => {
      const b = sink.buffered();
      if (b < progressMark) progressAt = now;
      progressMark = b;
      return now - progressAt;
    };

    /**
     * While a write is pending, samples the client's progress every tenth of
     * stallMs; ends the stream once the client took no byte for stallMs while
     * events piled up for it (its buffer overflowed, or a replay waits).
     */
    const watchStall = () => {
      clearTimeout(stallTimer);
      stallTimer = setTimeout(() => {
        // After this turn's I/O, so a client that did read is seen to have.
        setImmediate(() => {
          if (!blocked || ended) return;
          if (stalledFor(Date.now()) >= opts.stallMs && (busy || sub?.overflowed)) finish(stalled());
          else watchStall();
        });
      }, stallPollMs);
    };

    function onReady() {
      flush();
    }

    const heartbeat = () => {
      if (ended) return;
      const idle = Date.now() - lastWrite;
      if (idle >= opts.heartbeatMs) {
        if (!blocked) write(heartbeatMessage());
        heartbeatTimer = setTimeout(heartbeat, opts.heartbeatMs);
      } else {
        heartbeatTimer = setTimeout(heartbeat, opts.heartbeatMs - idle);
      }
    };

    if (signal.aborted) return resolve();
    signal.addEventListener("abort", onAbort, { once: true });
    subscribe();
    last = start.after ?? from;
    write(heartbeatMessage());
    heartbeatTimer = setTimeout(heartbeat, opts.heartbeatMs);
    if (sub!.ended) {
      flush();
      return;
    }
    if (start.after !== undefined || start.since !== undefined) {
      busy = true;
      replay(start.after ?? 0n, from, start.since)
        .then(() => {
          busy = false;
          if (from > last) last = from;
          flush();
        })
        .catch(finish);
    }
  });
}
