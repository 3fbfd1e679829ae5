import type { StoredEvent } from "../events/stored-event.js";

/** Which events an endpoint receives. */
export interface WebhookFilter {
  /** Exact types and `prefix.*` patterns; empty: every type. */
  eventTypes: readonly string[];
  /** Session ids; empty: every session. */
  sessions: readonly string[];
}

/** True when `type` passes the type list (exact match, or `a.*` matching `a.` and anything after). */
export function typeMatches(patterns: readonly string[], type: string): boolean {
  if (patterns.length === 0) return true;
  for (const p of patterns) {
    if (p === "*" || p === type) return true;
    if (p.endsWith(".*") && type.startsWith(p.slice(0, -1))) return true;
  }
  return false;
}

/** True when the endpoint with filter `f` receives `e` (the organization is checked by the reader). */
export function webhookMatches(f: WebhookFilter, e: StoredEvent): boolean {
  return (f.sessions.length === 0 || f.sessions.includes(e.sessionId)) && typeMatches(f.eventTypes, e.type);
}
