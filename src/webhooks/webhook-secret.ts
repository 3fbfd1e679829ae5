import { createHmac, randomBytes } from "node:crypto";

/** Prefix of every signing secret (Standard Webhooks). */
export const secretPrefix = "whsec_";

/** A new signing secret: `whsec_` + base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return secretPrefix + randomBytes(32).toString("base64");
}

/**
 * The `webhook-signature` header value of Standard Webhooks v1: one
 * `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` per secret, space-separated.
 */
export function signWebhook(secrets: readonly string[], id: string, timestamp: number, body: string): string {
  const content = `${id}.${timestamp}.${body}`;
  return secrets
    .map((s) => `v1,${createHmac("sha256", Buffer.from(s.slice(secretPrefix.length), "base64")).update(content).digest("base64")}`)
    .join(" ");
}
