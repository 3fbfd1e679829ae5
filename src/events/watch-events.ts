import type { HandlerContext } from "@connectrpc/connect";
import type { WatchEventsRequest, WatchEventsResponse } from "../../gen/wagateway/v1/session_service_pb.js";
import { apiError, validationError } from "../errors/api-error.js";
import { principalOf } from "../auth/principal-context.js";
import { isUlid } from "../util/ulid.js";
import type { EventHub } from "./event-hub.js";
import type { EventLog } from "./event-log.js";
import { type EventStreamOptions, type EventStreamStart, runEventStream } from "./event-stream.js";
import { isEventType } from "./event-types.js";
import { kDirectStream, type MessageSink, type StreamImplementation } from "../server/message-sink.js";
import type { StreamLimits } from "./stream-limits.js";
import type { EventFilter } from "./subscription.js";

/** Tunables of the event stream. */
export type WatchEventsOptions = EventStreamOptions;

/** Messages the protocol path may hold for a client before the stream counts its write as pending. */
const protocolPathQueue = 32;

/** The WatchEvents implementation: a generator for connect-es, with the direct form attached. */
export type WatchEventsImplementation = ((req: WatchEventsRequest, ctx: HandlerContext) => AsyncGenerator<WatchEventsResponse>) & {
  [kDirectStream]: StreamImplementation;
};

/**
 * The WatchEvents handler (see {@link runEventStream} for the guarantees).
 * Validation, the retention check and the stream caps run before anything is
 * sent, so those errors reach the client as the call's error.
 *
 * Two forms of the same stream: the direct form (attached under
 * {@link kDirectStream}) writes into a transport's sink, which encodes each
 * shared event once per wire format and writes the same bytes to every
 * stream (REST SSE/NDJSON, and Connect, gRPC and gRPC-Web in their common
 * form); the generator serves what connect-es handles itself (timeouts,
 * compressed requests), one message at a time.
 */
export function createWatchEvents(hub: EventHub, log: EventLog, limits: StreamLimits, opts: WatchEventsOptions): WatchEventsImplementation {
  /** Validates and takes a stream slot; throws the call's error. */
  const prepare = async (req: WatchEventsRequest, ctx: HandlerContext) => {
    const principal = principalOf(ctx);
    const start = await parseStart(req, principal.organizationId, log);
    const release = limits.acquire(principal);
    return { start, release };
  };

  const direct: StreamImplementation = async (req, ctx, sink) => {
    const { start, release } = await prepare(req as WatchEventsRequest, ctx);
    const done = runEventStream(hub, log, opts, start, sink as MessageSink<WatchEventsResponse>, ctx.signal);
    void done.then(release, release);
    return { done };
  };

  async function* watchEvents(req: WatchEventsRequest, ctx: HandlerContext): AsyncGenerator<WatchEventsResponse> {
    const { start, release } = await prepare(req, ctx);
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    const queue: WatchEventsResponse[] = [];
    let drained: (() => void) | undefined;
    let wake: (() => void) | undefined;
    let finished = false;
    let failure: unknown;
    const sink: MessageSink<WatchEventsResponse> = {
      send(m) {
        queue.push(m.message());
        wake?.();
        return queue.length < protocolPathQueue;
      },
      buffered: () => queue.length,
      onDrain(cb) {
        drained = cb;
      },
      cork() {},
      uncork() {},
    };
    runEventStream(hub, log, opts, start, sink, ac.signal).then(
      () => {
        finished = true;
        wake?.();
      },
      (err: unknown) => {
        failure = err;
        finished = true;
        wake?.();
      },
    );
    try {
      for (;;) {
        const m = queue.shift();
        if (m) {
          yield m;
          if (queue.length === 0 && drained) {
            const cb = drained;
            drained = undefined;
            cb();
          }
          continue;
        }
        if (finished) {
          if (failure !== undefined) throw failure;
          return;
        }
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    } finally {
      ctx.signal.removeEventListener("abort", onAbort);
      ac.abort();
      release();
    }
  }
  return Object.assign(watchEvents, { [kDirectStream]: direct });
}

/** Reads a WatchEvents request: filter, resume point; `conflict` when the resume point was pruned. */
export async function parseStart(req: WatchEventsRequest, organizationId: string, log: EventLog): Promise<EventStreamStart> {
  const filter = parseFilter(req, organizationId);
  const after = parseAfter(req.after);
  if (after !== undefined && after > 0n) {
    const pruned = await log.prunedThrough();
    if (after < pruned) {
      throw apiError("conflict", `events up to ${pruned} were removed by retention; resume without "after" or from a later id`, {
        metadata: { pruned_through: pruned.toString() },
      });
    }
  }
  const since = after === undefined && req.since !== undefined ? new Date(Number(req.since)) : undefined;
  return { filter, after, since };
}

function parseFilter(req: WatchEventsRequest, organizationId: string): EventFilter {
  const fields: Record<string, string> = {};
  const sessionIds = req.sessions.map((s) => s.toUpperCase());
  if (sessionIds.some((s) => !isUlid(s))) fields.sessions = "each must be a session id (ULID)";
  if (req.types.some((t) => !isEventType(t))) fields.types = `unknown event type: ${req.types.find((t) => !isEventType(t))}`;
  if (req.after !== undefined && parseAfter(req.after) === undefined) fields.after = "must be an event id (a non-negative integer)";
  if (Object.keys(fields).length > 0) throw validationError(fields);
  return { organizationId, sessionIds: new Set(sessionIds), types: new Set(req.types) };
}

function parseAfter(raw: string | undefined): bigint | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d{1,19}$/.test(raw)) return undefined;
  return BigInt(raw);
}
