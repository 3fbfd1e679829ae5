import type { SessionRow } from "../db/schema.js";

/** WhatsApp's error code for a reach-out timelock (a new chat refused: missing privacy token). */
export const reachoutTimelockCode = 463;

/** A restriction as the contract shows it (epoch ms). */
export interface Restriction {
  reason: string;
  since: number;
  until: number;
  untilKnown: boolean;
  messageId: string | null;
}

type RestrictionColumns = Pick<SessionRow, "restriction_reason" | "restriction_since" | "restriction_until" | "restriction_until_known" | "restriction_message_id">;

/** The session's restriction while it lasts (undefined when none or ended). */
export function activeRestriction(row: RestrictionColumns, now = Date.now()): Restriction | undefined {
  if (!row.restriction_reason || !row.restriction_since || !row.restriction_until) return undefined;
  if (row.restriction_until.getTime() <= now) return undefined;
  return {
    reason: row.restriction_reason,
    since: row.restriction_since.getTime(),
    until: row.restriction_until.getTime(),
    untilKnown: row.restriction_until_known,
    messageId: row.restriction_message_id,
  };
}

/**
 * The end time WhatsApp gave with an error ack, if any: a number in the
 * ack's parameters that reads as a future unix time (seconds or ms).
 */
export function endTimeOf(params: readonly (string | null | undefined)[], now = Date.now()): number | undefined {
  for (const p of params.slice(1)) {
    if (!p || !/^\d{10,13}$/.test(p)) continue;
    const n = Number(p);
    const ms = p.length <= 10 ? n * 1000 : n;
    if (ms > now && ms < now + 365 * 24 * 3_600_000) return ms;
  }
  return undefined;
}

/** The columns that record a restriction (`until` known from WhatsApp or estimated). */
export function restrictionPatch(reason: string, since: Date, until: Date, untilKnown: boolean, messageId: string) {
  return {
    restriction_reason: reason,
    restriction_since: since,
    restriction_until: until,
    restriction_until_known: untilKnown,
    restriction_message_id: messageId,
  };
}
