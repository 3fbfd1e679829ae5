import { validationError } from "../errors/api-error.js";
import { isEventType } from "../events/event-types.js";
import { isUlid } from "../util/ulid.js";
import { type UrlPolicy, urlProblem } from "./url-guard.js";

const maxUrl = 2000;
const maxDescription = 500;
const maxTypes = 50;
const maxSessions = 100;
const prefixPattern = /^[a-z][a-z_]*(\.[a-z][a-z_]*)*\.\*$/;

/** Checked fields of a create or update; only the ones given are present. */
export interface CheckedWebhookFields {
  url?: string;
  eventTypes?: string[];
  sessions?: string[];
  description?: string | null;
}

/** What a create or update supplies (undefined: not given). */
export interface WebhookInput {
  url?: string | undefined;
  eventTypes?: readonly string[] | undefined;
  sessions?: readonly string[] | undefined;
  description?: string | undefined;
}

/**
 * Validates endpoint fields, the URL against the SSRF policy included
 * (scheme, and every address its host resolves to). Throws a
 * `validation_error` naming every offending field.
 */
export async function validateWebhookInput(input: WebhookInput, policy: UrlPolicy): Promise<CheckedWebhookFields> {
  const fields: Record<string, string> = {};
  const out: CheckedWebhookFields = {};
  if (input.url !== undefined) {
    const url = input.url.trim();
    if (url === "") fields.url = "is required";
    else if (url.length > maxUrl) fields.url = `must be at most ${maxUrl} characters`;
    else {
      const problem = await urlProblem(url, policy);
      if (problem) fields.url = problem;
      else out.url = url;
    }
  }
  if (input.eventTypes !== undefined) {
    const types = [...new Set(input.eventTypes.map((t) => t.trim()))];
    const bad = types.find((t) => !(t === "*" || isEventType(t) || prefixPattern.test(t)));
    if (types.length > maxTypes) fields.eventTypes = `at most ${maxTypes} entries`;
    else if (bad !== undefined) fields.eventTypes = `unknown event type: "${bad}" (an event type, or a prefix such as "message.*")`;
    else out.eventTypes = types.includes("*") ? [] : types;
  }
  if (input.sessions !== undefined) {
    const ids = [...new Set(input.sessions.map((s) => s.trim().toUpperCase()))];
    if (ids.length > maxSessions) fields.sessions = `at most ${maxSessions} entries`;
    else if (ids.some((s) => !isUlid(s))) fields.sessions = "each must be a session id (ULID)";
    else out.sessions = ids;
  }
  if (input.description !== undefined) {
    const d = input.description.trim();
    if (d.length > maxDescription) fields.description = `must be at most ${maxDescription} characters`;
    else out.description = d === "" ? null : d;
  }
  if (Object.keys(fields).length > 0) throw validationError(fields);
  return out;
}
