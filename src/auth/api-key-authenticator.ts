import type { ApiKeyRepository } from "../api-keys/api-key-repository.js";
import { apiError } from "../errors/api-error.js";
import { hashApiKeySecret } from "./api-key-secret.js";
import { isCapability, type Principal } from "./principal.js";

/** Verifies API key secrets, with a short-lived in-process cache. */
export interface ApiKeyAuthenticator {
  /** The key's principal; throws `unauthorized` for unknown or revoked keys. */
  authenticate(secret: string): Promise<Principal>;
  /** Forgets a key at once (called on revoke in this process). */
  forget(apiKeyId: string): void;
}

interface CacheEntry {
  principal: Principal;
  expiresAt: number;
}

/**
 * Looks keys up by hash. A verified key is trusted for `cacheTtlMs` without a
 * database round-trip; a revocation made through this process applies at once,
 * one made elsewhere (another process, the CLI) within `cacheTtlMs`.
 */
export function createApiKeyAuthenticator(repo: ApiKeyRepository, cacheTtlMs: number): ApiKeyAuthenticator {
  const cache = new Map<string, CacheEntry>();
  const maxEntries = 10_000;
  return {
    async authenticate(secret) {
      const hash = hashApiKeySecret(secret);
      const now = Date.now();
      const hit = cache.get(hash);
      if (hit && hit.expiresAt > now) return hit.principal;
      cache.delete(hash);
      const row = await repo.findActiveByHash(hash);
      if (!row) throw apiError("unauthorized", "unknown or revoked API key");
      const principal: Principal = {
        kind: "api_key",
        organizationId: row.organization_id,
        userId: row.created_by_user_id ?? undefined,
        apiKeyId: row.id,
        capabilities: new Set(row.permissions.filter(isCapability)),
      };
      if (cacheTtlMs > 0) {
        if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
        cache.set(hash, { principal, expiresAt: now + cacheTtlMs });
      }
      repo.touch(row.id, new Date(now)).catch(() => {});
      return principal;
    },
    forget(apiKeyId) {
      for (const [hash, entry] of cache) {
        if (entry.principal.apiKeyId === apiKeyId) cache.delete(hash);
      }
    },
  };
}
