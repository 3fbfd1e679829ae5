import { type ApiKey, ApiKeySchema } from "../../gen/wagateway/v1/api_key_pb.js";
import { type Event, EventSchema } from "../../gen/wagateway/v1/event_pb.js";
import { type Session, SessionSchema, SessionStatus } from "../../gen/wagateway/v1/session_pb.js";
import { type Webhook, type WebhookDelivery, WebhookDeliverySchema, WebhookSchema } from "../../gen/wagateway/v1/webhook_pb.js";
import { writeMessageJson } from "../rest/json-write.js";

/** The contract word of a session status (`working`, `scan_qr_code`, …). */
export function statusWord(status: SessionStatus): string {
  return (SessionStatus[status] ?? "unspecified").toLowerCase();
}

/** A session as one JSON line, exactly as REST answers it (every key, `null` when absent, epoch-ms numbers, status as its word). */
export function sessionLine(s: Session): string {
  return writeMessageJson(SessionSchema, s);
}

/** An event as one JSON line, as REST streams it. */
export function eventLine(e: Event): string {
  return writeMessageJson(EventSchema, e);
}

/** A webhook endpoint as one JSON line, as REST answers it. */
export function webhookLine(w: Webhook): string {
  return writeMessageJson(WebhookSchema, w);
}

/** A delivery attempt as one JSON line, as REST answers it. */
export function deliveryLine(d: WebhookDelivery): string {
  return writeMessageJson(WebhookDeliverySchema, d);
}

/** An API key (never its hash) as one JSON line, as REST answers it. */
export function apiKeyLine(k: ApiKey): string {
  return writeMessageJson(ApiKeySchema, k);
}

/** Writes a line to stdout. */
export function out(line: string): void {
  process.stdout.write(line + "\n");
}

/** Writes a line to stderr. */
export function note(line: string): void {
  process.stderr.write(line + "\n");
}
