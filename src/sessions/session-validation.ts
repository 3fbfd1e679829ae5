import { validationError } from "../errors/api-error.js";
import { isUlid } from "../util/ulid.js";

/** Settings a caller may set at create or update (JSON names). */
export interface SessionSettingsInput {
  label?: string | undefined;
  autoRead?: boolean | undefined;
  presenceTyping?: boolean | undefined;
  ratePerMin?: number | undefined;
  ratePerHour?: number | undefined;
}

/** Longest label accepted. */
export const maxLabelLength = 100;

/** Throws a `validation_error` naming every bad field of `input`. */
export function validateSessionSettings(input: SessionSettingsInput): void {
  const fields: Record<string, string> = {};
  if (input.label !== undefined) {
    if ([...input.label].length > maxLabelLength) fields.label = `must be at most ${maxLabelLength} characters`;
    // eslint-disable-next-line no-control-regex
    else if (/[\u0000-\u001f\u007f]/.test(input.label)) fields.label = "must not contain control characters";
  }
  if (input.ratePerMin !== undefined && (input.ratePerMin < 1 || input.ratePerMin > 1000)) {
    fields.ratePerMin = "must be between 1 and 1000";
  }
  if (input.ratePerHour !== undefined && (input.ratePerHour < 1 || input.ratePerHour > 100_000)) {
    fields.ratePerHour = "must be between 1 and 100000";
  }
  if (Object.keys(fields).length > 0) throw validationError(fields);
}

/** Throws a `validation_error` unless `id` is a well-formed session id (ULID). */
export function validateSessionId(id: string): void {
  if (id === "") throw validationError({ session: "is required" });
  if (!isUlid(id)) throw validationError({ session: "must be a session id (ULID)" });
}

/** Normalizes (upper-cases) and checks a session id from a request. */
export function parseSessionId(raw: string): string {
  const id = raw.toUpperCase();
  validateSessionId(id);
  return id;
}

/** Throws a `validation_error` unless `phone` is an international number in digits (no `+`). */
export function validatePhoneNumber(phone: string): void {
  if (!/^[1-9]\d{5,14}$/.test(phone)) {
    throw validationError({ phoneNumber: "must be 6 to 15 digits with the country code, no + or spaces" });
  }
}
