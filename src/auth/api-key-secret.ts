import { createHash, randomBytes } from "node:crypto";

/** Every API key secret starts with this, so it is recognizable in logs and scanners. */
export const apiKeyPrefix = "wag_";

/** A new random API key secret: `wag_` + 256 bits in base64url. */
export function generateApiKeySecret(): string {
  return apiKeyPrefix + randomBytes(32).toString("base64url");
}

/** The stored form of a secret: SHA-256, hex. The secret has 256 bits of entropy, so no slow hash is needed. */
export function hashApiKeySecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** The part of a secret shown in lists. */
export function displayPrefix(secret: string): string {
  return secret.slice(0, apiKeyPrefix.length + 6);
}

/** True when the token has the shape of one of our API keys. */
export function looksLikeApiKey(token: string): boolean {
  return token.startsWith(apiKeyPrefix) && /^wag_[A-Za-z0-9_-]{43}$/.test(token);
}
