import type { Capability } from "../auth/principal.js";
import { validationError } from "../errors/api-error.js";

/** Checks a key name and permission list; returns the de-duplicated capabilities. */
export function validateNewApiKey(name: string, permissions: (Capability | undefined)[]): Capability[] {
  const fields: Record<string, string> = {};
  const trimmed = name.trim();
  if (trimmed === "") fields.name = "is required";
  else if ([...trimmed].length > 100) fields.name = "must be at most 100 characters";
  // eslint-disable-next-line no-control-regex
  else if (/[\u0000-\u001f\u007f]/.test(trimmed)) fields.name = "must not contain control characters";
  if (permissions.length === 0) fields.permissions = "at least one of manage, read is required";
  else if (permissions.some((p) => p === undefined)) fields.permissions = "each must be manage or read";
  if (Object.keys(fields).length > 0) throw validationError(fields);
  return [...new Set(permissions as Capability[])];
}
