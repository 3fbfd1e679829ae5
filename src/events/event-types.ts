/** Every event type of the contract. */
export const eventTypes = [
  "session.created",
  "session.updated",
  "session.deleted",
  "session.status",
  "session.restricted",
  "auth.qr",
  "auth.pairing_code",
  "auth.paired",
  "auth.logged_out",
  "connection.connecting",
  "connection.open",
  "connection.close",
  "webhook.endpoint.disabled",
  "message.received",
  "message.status",
  "message.reaction",
  "message.revoked",
] as const;

/** One of {@link eventTypes}. */
export type EventType = (typeof eventTypes)[number];

/** Narrows a string to an {@link EventType}. */
export function isEventType(s: string): s is EventType {
  return (eventTypes as readonly string[]).includes(s);
}

/** An event to append: what happened to which session. */
export interface NewEvent {
  organizationId: string;
  /** Empty for organization-level events (`webhook.*`). */
  sessionId: string;
  type: EventType;
  data: Record<string, unknown>;
}
