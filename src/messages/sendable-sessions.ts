import type { SessionRow } from "../db/schema.js";

/** How long a paired session row read by this process stands in for a fresh read. */
const hintMs = 2_000;
/** Sessions remembered at most (the oldest go first). */
const maxHints = 10_000;

/**
 * The paired sessions this process sent through in the last seconds, so a
 * burst of sends reads its session once, not once per message. Only a hint:
 * the enqueue statement itself checks that the session still exists in the
 * organization and is paired, and a refusal is answered from a fresh read.
 */
export class SendableSessions {
  private readonly rows = new Map<string, { row: SessionRow; at: number }>();

  /** The session as read within the last seconds, if it was paired then. */
  get(organizationId: string, id: string, now = Date.now()): SessionRow | undefined {
    const key = `${organizationId}\0${id}`;
    const hit = this.rows.get(key);
    if (!hit) return undefined;
    if (now - hit.at <= hintMs) return hit.row;
    this.rows.delete(key);
    return undefined;
  }

  /** Remembers a session just read (only a paired one can take sends). */
  remember(row: SessionRow, now = Date.now()): void {
    if (row.phone_number === null) return;
    const key = `${row.organization_id}\0${row.id}`;
    this.rows.delete(key);
    this.rows.set(key, { row, at: now });
    if (this.rows.size > maxHints) this.rows.delete(this.rows.keys().next().value!);
  }

  /** Forgets a session (its enqueue was refused). */
  forget(organizationId: string, id: string): void {
    this.rows.delete(`${organizationId}\0${id}`);
  }
}
