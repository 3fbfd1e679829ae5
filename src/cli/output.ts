import { toJson } from "@bufbuild/protobuf";
import { type Event, EventSchema } from "../../gen/wagateway/v1/event_pb.js";
import { type Session, SessionSchema, SessionStatus } from "../../gen/wagateway/v1/session_pb.js";
import { type Webhook, type WebhookDelivery, WebhookDeliverySchema, WebhookSchema } from "../../gen/wagateway/v1/webhook_pb.js";

/** The contract word of a session status (`working`, `scan_qr_code`, …). */
export function statusWord(status: SessionStatus): string {
  return (SessionStatus[status] ?? "unspecified").toLowerCase();
}

/** A session as one JSON line: every field, status as its word. */
export function sessionLine(s: Session): string {
  const json = toJson(SessionSchema, s, { alwaysEmitImplicit: true }) as Record<string, unknown>;
  return JSON.stringify({ ...json, status: statusWord(s.status) });
}

/** An event as one JSON line. */
export function eventLine(e: Event): string {
  return JSON.stringify(toJson(EventSchema, e, { alwaysEmitImplicit: true }));
}

/** A webhook endpoint as one JSON line (every field). */
export function webhookLine(w: Webhook): string {
  return JSON.stringify(toJson(WebhookSchema, w, { alwaysEmitImplicit: true }));
}

/** A delivery attempt as one JSON line (every field). */
export function deliveryLine(d: WebhookDelivery): string {
  return JSON.stringify(toJson(WebhookDeliverySchema, d, { alwaysEmitImplicit: true }));
}

/** Writes a line to stdout. */
export function out(line: string): void {
  process.stdout.write(line + "\n");
}

/** Writes a line to stderr. */
export function note(line: string): void {
  process.stderr.write(line + "\n");
}
