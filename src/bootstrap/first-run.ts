import type { ApiKeyRepository } from "../api-keys/api-key-repository.js";
import { ulid } from "../util/ulid.js";

/** The key created on first run, to print once. */
export interface FirstRunKey {
  organizationId: string;
  secret: string;
}

/**
 * When the database holds no API key at all, creates a default organization
 * and one admin key (`manage`, `read`). Returns it so the caller can print it
 * once; returns undefined on every later start.
 */
export async function ensureFirstRunKey(repo: ApiKeyRepository): Promise<FirstRunKey | undefined> {
  if (await repo.any()) return undefined;
  const organizationId = `org_${ulid()}`;
  const { secret } = await repo.create({ organizationId, name: "first-run admin key", permissions: ["manage", "read"] });
  return { organizationId, secret };
}

/** The banner shown with the first-run key: the key and one call per protocol. */
export function firstRunBanner(key: FirstRunKey, url: string): string {
  const host = url.replace(/^https?:\/\//, "");
  return [
    "",
    "  wa-gateway first run: created organization and an admin API key.",
    "  The key is shown ONCE. Store it now.",
    "",
    `    organization: ${key.organizationId}`,
    `    API key:      ${key.secret}`,
    "",
    `  Web console: ${url}/console/ (paste the key there)`,
    "",
    "  Try it (Connect, plain curl over HTTP/1.1):",
    `    curl -sS ${url}/wagateway.v1.SessionService/CreateSession \\`,
    `      -H "Authorization: Bearer ${key.secret}" -H "Content-Type: application/json" -d '{"label":"Support line"}'`,
    "",
    "  gRPC (HTTP/2) with buf curl:",
    `    npx buf curl --protocol grpc --http2-prior-knowledge --schema proto \\`,
    `      -H "Authorization: Bearer ${key.secret}" ${url}/wagateway.v1.SessionService/ListSessions`,
    `  (host ${host})`,
    "",
  ].join("\n");
}
