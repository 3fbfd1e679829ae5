import type { ErrorWord } from "../errors/api-error.js";

/** A command-line mistake: printed as `validation_error` with the command's help. */
export class UsageError extends Error {
  constructor(message: string, readonly help?: string) {
    super(message);
  }
}

/** Exit codes by contract word (0 is success). */
export const exitCodes: Record<ErrorWord, number> = {
  internal: 1,
  validation_error: 2,
  not_found: 3,
  unauthorized: 4,
  forbidden: 5,
  conflict: 6,
  rate_limited: 7,
  unavailable: 8,
};
