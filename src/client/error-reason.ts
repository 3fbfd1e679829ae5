import { type ErrorWord, errorFields, errorWord } from "../errors/api-error.js";

/** The contract's error words (`validation_error`, `not_found`, …). */
export type ErrorReason = ErrorWord;

/**
 * The contract word of an error thrown by a client call: the `reason` of its
 * `google.rpc.ErrorInfo` detail, else derived from the protocol code
 * (`internal` for anything unknown, including non-RPC errors).
 */
export function errorReason(err: unknown): ErrorReason {
  return errorWord(err);
}

/** The offending fields of a `validation_error` (JSON names → what is wrong). */
export function errorViolations(err: unknown): Record<string, string> {
  return errorFields(err);
}
