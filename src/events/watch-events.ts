import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import {
  type WatchEventsRequest,
  type WatchEventsResponse,
  WatchEventsResponseSchema,
} from "../../gen/wagateway/v1/session_service_pb.js";
import { apiError, validationError } from "../errors/api-error.js";
import { principalOf } from "../auth/principal-context.js";
import { isUlid } from "../util/ulid.js";
import type { EventHub } from "./event-hub.js";
import type { EventLog } from "./event-log.js";
import { toEventMessage } from "./event-message.js";
import { isEventType } from "./event-types.js";
import type { StoredEvent } from "./stored-event.js";
import type { EventFilter } from "./subscription.js";

/** Tunables of the event stream. */
export interface WatchEventsOptions {
  /** Live events a subscriber may have pending before it falls back to reading the log. */
  bufferSize: number;
  /** A heartbeat is sent after this long without events. */
  heartbeatMs: number;
  /** A client that accepts nothing for this long while events pile up is stalled: its stream ends with a resume error. */
  stallMs: number;
}

const replayBatch = 500;

/**
 * The WatchEvents handler. It registers with the hub first, replays the log
 * from `after` (or `since`) up to the hub's position at registration, then
 * streams live events, skipping any id already sent: no gap, no duplicate at
 * the hand-over. The first message is a heartbeat so headers reach the client
 * at once.
 *
 * Each subscriber's live buffer is bounded. When a burst overflows it, the
 * stream catches up from the log and re-attaches (lossless, nothing blocks).
 * When the client itself is stalled (a write waited longer than `stallMs`),
 * the stream ends with `unavailable` naming the id to resume after.
 */
export function createWatchEvents(hub: EventHub, log: EventLog, opts: WatchEventsOptions) {
  return async function* watchEvents(req: WatchEventsRequest, ctx: HandlerContext): AsyncGenerator<WatchEventsResponse> {
    const principal = principalOf(ctx);
    const filter = parseFilter(req, principal.organizationId);
    const after = parseAfter(req.after);
    if (after !== undefined && after > 0n) {
      const pruned = await log.prunedThrough();
      if (after < pruned) {
        throw apiError("conflict", `events up to ${pruned} were removed by retention; resume without "after" or from a later id`, {
          metadata: { pruned_through: pruned.toString() },
        });
      }
    }
    let { subscription, from } = hub.subscribe(filter, opts.bufferSize);
    let last = after ?? from;
    // The subscription knows whether a write to the client is pending: one
    // pending for long when the buffer overflows means a stalled client,
    // not a burst.
    const send = async function* (msg: WatchEventsResponse) {
      subscription.writePendingSince = Date.now();
      yield msg;
      subscription.writePendingSince = 0;
    };
    // Replays matching events with cursor < id <= upTo from the log.
    const replay = async function* (cursor: bigint, upTo: bigint, since?: Date) {
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
        for (const e of batch) {
          yield* send(eventResponse(e));
          cursor = e.id;
        }
        if (batch.length < replayBatch) return;
      }
    };
    try {
      yield* send(heartbeat());
      const since = after === undefined && req.since !== undefined ? new Date(Number(req.since)) : undefined;
      if (after !== undefined || since !== undefined) {
        yield* replay(after ?? 0n, from, since);
        if (from > last) last = from;
      }
      for (;;) {
        const next = await subscription.next(opts.heartbeatMs, ctx.signal);
        switch (next.kind) {
          case "event":
            if (next.event.id <= last) continue;
            last = next.event.id;
            yield* send(eventResponse(next.event));
            continue;
          case "idle":
            yield* send(heartbeat());
            continue;
          case "overflow": {
            if (subscription.blockedAtOverflowMs >= opts.stallMs) {
              throw apiError("unavailable", `the client stopped reading and fell behind; resume with after=${last}`, {
                metadata: { resume_after: last.toString() },
              });
            }
            // A burst, not a stalled client: catch up from the log and re-attach.
            subscription.close();
            ({ subscription, from } = hub.subscribe(filter, opts.bufferSize));
            yield* replay(last, from);
            if (from > last) last = from;
            continue;
          }
          case "closed":
          case "aborted":
            return;
        }
      }
    } finally {
      subscription.close();
    }
  };
}

function eventResponse(e: StoredEvent): WatchEventsResponse {
  return create(WatchEventsResponseSchema, { payload: { case: "event", value: toEventMessage(e) } });
}

function heartbeat(): WatchEventsResponse {
  return create(WatchEventsResponseSchema, { payload: { case: "heartbeat", value: { serverTime: BigInt(Date.now()) } } });
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
