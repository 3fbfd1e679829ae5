import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";

/** The contract's error vocabulary, shared by every protocol. */
export type ErrorWord =
  | "validation_error"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "rate_limited"
  | "internal"
  | "unavailable";

/** `ErrorInfo.domain` of every error we raise. */
export const errorDomain = "wagateway.v1";

const codeOf: Record<ErrorWord, Code> = {
  validation_error: Code.InvalidArgument,
  unauthorized: Code.Unauthenticated,
  forbidden: Code.PermissionDenied,
  not_found: Code.NotFound,
  conflict: Code.FailedPrecondition,
  rate_limited: Code.ResourceExhausted,
  internal: Code.Internal,
  unavailable: Code.Unavailable,
};

const wordOf = new Map<Code, ErrorWord>([
  [Code.InvalidArgument, "validation_error"],
  [Code.OutOfRange, "validation_error"],
  [Code.Unauthenticated, "unauthorized"],
  [Code.PermissionDenied, "forbidden"],
  [Code.NotFound, "not_found"],
  [Code.FailedPrecondition, "conflict"],
  [Code.AlreadyExists, "conflict"],
  [Code.Aborted, "conflict"],
  [Code.ResourceExhausted, "rate_limited"],
  [Code.Unavailable, "unavailable"],
  [Code.DeadlineExceeded, "unavailable"],
]);

/** Options of {@link apiError}. */
export interface ApiErrorOptions {
  /** Offending fields (JSON names) and what is wrong with each. */
  fields?: Record<string, string>;
  /** Overrides the protocol code, e.g. `already_exists` for a `conflict`. */
  code?: Code;
  /** Extra `ErrorInfo.metadata`. */
  metadata?: Record<string, string>;
  cause?: unknown;
}

/**
 * Creates the ConnectError for a contract error: the protocol code of the
 * status table, `ErrorInfo{reason: word}`, and for validation errors a
 * `BadRequest` naming each field.
 */
export function apiError(word: ErrorWord, message: string, options: ApiErrorOptions = {}): ConnectError {
  const details = [
    { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason: word, domain: errorDomain, metadata: options.metadata ?? {} }) },
  ];
  const fields = options.fields;
  if (fields && Object.keys(fields).length > 0) {
    const value = create(BadRequestSchema, {
      fieldViolations: Object.entries(fields).map(([field, description]) => ({ field, description })),
    });
    return new ConnectError(message, options.code ?? codeOf[word], undefined, [details[0]!, { desc: BadRequestSchema, value }], options.cause);
  }
  return new ConnectError(message, options.code ?? codeOf[word], undefined, details, options.cause);
}

/** A `validation_error` naming each offending field. */
export function validationError(fields: Record<string, string>): ConnectError {
  const names = Object.keys(fields);
  const message = names.length === 1 ? `invalid ${names[0]}: ${fields[names[0]!]}` : `invalid fields: ${names.join(", ")}`;
  return apiError("validation_error", message, { fields });
}

/** The contract word of any error: the ErrorInfo reason, else derived from the code. */
export function errorWord(err: unknown): ErrorWord {
  const ce = ConnectError.from(err);
  for (const info of ce.findDetails(ErrorInfoSchema)) {
    if (info.domain === errorDomain && info.reason in codeOf) return info.reason as ErrorWord;
  }
  return wordOf.get(ce.code) ?? "internal";
}

/** The offending fields of a validation error, from its BadRequest detail. */
export function errorFields(err: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const br of ConnectError.from(err).findDetails(BadRequestSchema)) {
    for (const v of br.fieldViolations) out[v.field] = v.description;
  }
  return out;
}
