import type { EventRow } from "../db/schema.js";

/** An event as read from the log, with its id as a bigint. */
export interface StoredEvent {
  id: bigint;
  organizationId: string;
  sessionId: string;
  type: string;
  data: Record<string, unknown>;
  occurredAt: Date;
}

/** Converts a database row (int8 id as string or number) to a {@link StoredEvent}. */
export function toStoredEvent(row: EventRow): StoredEvent {
  return {
    id: BigInt(row.id),
    organizationId: row.organization_id,
    sessionId: row.session_id,
    type: row.type,
    data: row.data,
    occurredAt: row.occurred_at,
  };
}
