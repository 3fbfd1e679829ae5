import { EventSchema } from "../../gen/wagateway/v1/event_pb.js";
import { toEventMessage } from "../events/event-message.js";
import type { StoredEvent } from "../events/stored-event.js";
import { writeMessageJson } from "../rest/json-write.js";
import { signWebhook } from "./webhook-secret.js";

/**
 * The body of a delivery: `{type, timestamp, data}` with `timestamp` the ISO
 * 8601 time the event occurred and `data` the event exactly as WatchEvents
 * gives it in REST JSON (the same writer).
 */
export function webhookBody(e: StoredEvent): string {
  const data = writeMessageJson(EventSchema, toEventMessage(e));
  return `{"type":${JSON.stringify(e.type)},"timestamp":${JSON.stringify(e.occurredAt.toISOString())},"data":${data}}`;
}

/** The Standard Webhooks v1 headers of one attempt, signed with every current secret. */
export function webhookHeaders(id: string, body: string, secrets: readonly string[], now: number = Date.now()): Record<string, string> {
  const timestamp = Math.floor(now / 1000);
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": signWebhook(secrets, id, timestamp, body),
  };
}
