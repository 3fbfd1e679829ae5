import type pg from "pg";
import { findKeySql, hashSecret } from "./session-sql.js";

/** An authenticated caller of a peer server. */
export interface PeerPrincipal {
  organizationId: string;
}

/**
 * The peers' API key check, the same as the gateway's: parse `Bearer <key>`,
 * SHA-256 the key, and trust a verified hash for `ttlMs` from an in-process
 * map (so, like ours, no database round-trip on the hot path); a miss reads
 * `api_keys` by its unique hash index.
 */
export function createKeyCache(pool: pg.Pool, ttlMs = 10_000) {
  const cache = new Map<string, { principal: PeerPrincipal; expiresAt: number }>();
  return async (authorization: string | undefined): Promise<PeerPrincipal | undefined> => {
    if (!authorization) return undefined;
    const m = /^Bearer +(\S+)\s*$/i.exec(authorization);
    if (!m || !/^wag_[A-Za-z0-9_-]{43}$/.test(m[1]!)) return undefined;
    const hash = hashSecret(m[1]!);
    const now = Date.now();
    const hit = cache.get(hash);
    if (hit && hit.expiresAt > now) return hit.principal;
    const { rows } = await pool.query<{ organization_id: string; permissions: string[] }>(findKeySql, [hash]);
    const row = rows[0];
    if (!row || !row.permissions.includes("manage")) return undefined;
    const principal = { organizationId: row.organization_id };
    cache.set(hash, { principal, expiresAt: now + ttlMs });
    return principal;
  };
}
