import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { type ErrorWord, errorDomain, errorFields, errorWord } from "../errors/api-error.js";

/** HTTP status of each contract word. */
export const httpStatusOfWord: Record<ErrorWord, number> = {
  validation_error: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
};

/** A REST error ready to send: status, headers and the JSON envelope. */
export interface RestError {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * The REST form of an error: `{"error":{"code","message","details"}}` with the
 * contract's status table. `unimplemented` (RPCs without a handler yet) is
 * `501` with the word `internal`; validation errors carry `details.fields`;
 * `401` adds `WWW-Authenticate: Bearer`.
 */
export function restErrorOf(err: unknown): RestError {
  const ce = ConnectError.from(err);
  const word = errorWord(ce);
  const status = ce.code === Code.Unimplemented ? 501 : httpStatusOfWord[word];
  const details: Record<string, unknown> = {};
  const fields = errorFields(ce);
  if (Object.keys(fields).length > 0) details.fields = fields;
  for (const info of ce.findDetails(ErrorInfoSchema)) {
    if (info.domain === errorDomain && Object.keys(info.metadata).length > 0) details.metadata = info.metadata;
  }
  const message = ce.code === Code.Unimplemented && ce.rawMessage === "" ? "not implemented" : ce.rawMessage;
  return envelope(status, word, message, details);
}

/** An error envelope with an explicit status (for errors the transcoder raises itself). */
export function envelope(status: number, code: ErrorWord, message: string, details: Record<string, unknown> = {}, headers: Record<string, string> = {}): RestError {
  const h: Record<string, string> = { "content-type": "application/json", ...headers };
  if (status === 401) h["www-authenticate"] = "Bearer";
  return { status, headers: h, body: JSON.stringify({ error: { code, message, details } }) };
}
