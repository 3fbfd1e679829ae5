/**
 * Thrown by a fenced write when this gateway no longer holds the session's
 * lease (another gateway took it over): the write is not applied and the
 * session's socket must close here without touching anything else.
 */
export class LeaseLostError extends Error {
  override name = "LeaseLostError";
  constructor(readonly sessionId: string) {
    super(`lease of session ${sessionId} is held by another gateway`);
  }
}

/** True for a {@link LeaseLostError}. */
export function isLeaseLost(err: unknown): err is LeaseLostError {
  return err instanceof LeaseLostError;
}
