import { createHash } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import type { Kysely } from "kysely";
import { type SendMessageRequest, SendMessageRequestSchema } from "../../gen/wagateway/v1/message_service_pb.js";
import type { Database } from "../db/schema.js";
import { validationError } from "../errors/api-error.js";

const maxKeyLength = 200;

/**
 * The client's idempotency key: the `Idempotency-Key` header (REST) or
 * `idempotency-key` metadata (gRPC, Connect). The IETF draft sends it as a
 * Structured Field string (`"…"`); a bare token is accepted too. Null when
 * absent; an empty, too long or non-printable key is a `validation_error`.
 */
export function idempotencyKeyOf(headers: Headers): string | null {
  const raw = headers.get("idempotency-key");
  if (raw === null) return null;
  let key = raw.trim();
  if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) key = key.slice(1, -1).replace(/\\(["\\])/g, "$1");
  if (key === "" || key.length > maxKeyLength || !/^[\x20-\x7e]+$/.test(key)) {
    throw validationError({ "idempotency-key": `must be 1 to ${maxKeyLength} printable ASCII characters` });
  }
  return key;
}

/**
 * The fingerprint of a send: the request as protobuf bytes, with the session
 * as the gateway resolved it, so the same request hashes the same over every
 * protocol.
 */
export function requestFingerprint(req: SendMessageRequest, sessionId: string): string {
  const canonical = create(SendMessageRequestSchema, { ...req, session: sessionId });
  return createHash("sha256").update(toBinary(SendMessageRequestSchema, canonical)).digest("hex");
}

/**
 * Frees the session's key when it was last used before `before` (the key
 * window, `IDEMPOTENCY_KEY_TTL_MS`): the old message stays, the key can
 * name a new one.
 */
export async function releaseStaleKey(db: Kysely<Database>, sessionId: string, key: string, before: Date): Promise<void> {
  await db
    .updateTable("messages")
    .set({ idempotency_key: null })
    .where("session_id", "=", sessionId)
    .where("idempotency_key", "=", key)
    .where("created_at", "<", before)
    .execute();
}
