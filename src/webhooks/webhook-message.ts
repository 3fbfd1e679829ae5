import { create } from "@bufbuild/protobuf";
import { type Webhook, type WebhookDelivery, WebhookDeliverySchema, WebhookSchema } from "../../gen/wagateway/v1/webhook_pb.js";
import type { WebhookAttemptRow, WebhookRow } from "../db/schema.js";

/** The protobuf `Webhook` of a row (never a secret). */
export function toWebhookMessage(row: WebhookRow): Webhook {
  return create(WebhookSchema, {
    id: row.id,
    organizationId: row.organization_id,
    url: row.url,
    eventTypes: row.event_types,
    sessions: row.sessions,
    description: row.description ?? undefined,
    enabled: row.enabled,
    disabledReason: row.disabled_reason ?? undefined,
    createdAt: BigInt(row.created_at.getTime()),
    updatedAt: BigInt(row.updated_at.getTime()),
  });
}

/** The protobuf `WebhookDelivery` of an attempt row. */
export function toDeliveryMessage(row: WebhookAttemptRow): WebhookDelivery {
  return create(WebhookDeliverySchema, {
    id: row.id,
    webhookId: row.webhook_id,
    eventId: row.event_id,
    eventType: row.event_type,
    attempt: row.attempt,
    outcome: row.outcome,
    httpStatus: row.http_status ?? undefined,
    error: row.error ?? undefined,
    durationMs: row.duration_ms,
    attemptedAt: BigInt(row.attempted_at.getTime()),
  });
}
