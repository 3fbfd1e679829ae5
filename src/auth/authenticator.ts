import { apiError } from "../errors/api-error.js";
import type { ApiKeyAuthenticator } from "./api-key-authenticator.js";
import { looksLikeApiKey } from "./api-key-secret.js";
import type { JwtAuthenticator } from "./jwt-authenticator.js";
import type { Principal } from "./principal.js";

/** Turns an `Authorization` header into a {@link Principal}. */
export type Authenticator = (authorization: string | null) => Promise<Principal>;

/**
 * Accepts `Bearer <token>` where the token is an API key (`wag_…`) or, when
 * JWT login is configured, a login JWT. Anything else is `unauthorized`.
 */
export function createAuthenticator(apiKeys: ApiKeyAuthenticator, jwt: JwtAuthenticator | undefined): Authenticator {
  return async (authorization) => {
    if (!authorization) throw apiError("unauthorized", "missing bearer token");
    const match = /^Bearer +(\S+)\s*$/i.exec(authorization);
    if (!match) throw apiError("unauthorized", "authorization header is not a bearer token");
    const token = match[1]!;
    if (looksLikeApiKey(token)) return apiKeys.authenticate(token);
    if (jwt && token.split(".").length === 3) return jwt.authenticate(token);
    throw apiError("unauthorized", "invalid bearer token");
  };
}
