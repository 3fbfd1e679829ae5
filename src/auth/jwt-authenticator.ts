import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from "jose";
import type { Config } from "../config.js";
import { apiError } from "../errors/api-error.js";
import { capabilitiesOfRole, type Principal } from "./principal.js";

/** Asymmetric algorithms only: `none` and HMAC (`HS*`) tokens are refused. */
export const allowedJwtAlgorithms = [
  "RS256", "RS384", "RS512",
  "PS256", "PS384", "PS512",
  "ES256", "ES384", "ES512",
  "EdDSA", "Ed25519",
];

/** Verifies login JWTs against the frontend's JWKS. */
export interface JwtAuthenticator {
  /** The token's principal; throws `unauthorized` (bad token) or `unavailable` (JWKS unreachable). */
  authenticate(token: string): Promise<Principal>;
}

/**
 * Creates a verifier for `config.jwt`. Keys are fetched from the JWKS URL and
 * cached by jose; an unknown `kid` triggers one refetch (rate-limited by jose's
 * cooldown), so key rotation needs no restart.
 */
export function createJwtAuthenticator(jwt: NonNullable<Config["jwt"]>): JwtAuthenticator {
  const jwks = createRemoteJWKSet(jwt.jwksUrl, { timeoutDuration: 5_000, cooldownDuration: 30_000, cacheMaxAge: 600_000 });
  return {
    async authenticate(token) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, jwks, {
          algorithms: allowedJwtAlgorithms,
          issuer: jwt.issuer,
          audience: jwt.audience,
          clockTolerance: jwt.clockToleranceSec,
          requiredClaims: ["sub", "exp"],
        }));
      } catch (err) {
        throw rejection(err);
      }
      const org = payload[jwt.orgClaim];
      if (typeof org !== "string" || org === "") {
        throw apiError("unauthorized", `token has no "${jwt.orgClaim}" claim`);
      }
      const role = payload[jwt.roleClaim];
      return {
        kind: "user",
        organizationId: org,
        userId: payload.sub,
        apiKeyId: undefined,
        capabilities: new Set(typeof role === "string" ? capabilitiesOfRole(role) : []),
      };
    },
  };
}

/** Maps a jose failure to a precise contract error. */
function rejection(err: unknown) {
  if (err instanceof errors.JWTExpired) return apiError("unauthorized", "token expired", { cause: err });
  if (err instanceof errors.JWTClaimValidationFailed) {
    const reason = err.claim === "nbf" ? "token not yet valid" : `token claim "${err.claim}" ${err.reason === "missing" ? "is missing" : "is invalid"}`;
    return apiError("unauthorized", reason, { cause: err });
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return apiError("unauthorized", "token algorithm not allowed", { cause: err });
  if (err instanceof errors.JWKSNoMatchingKey) return apiError("unauthorized", "token signed by an unknown key", { cause: err });
  if (err instanceof errors.JWSSignatureVerificationFailed) return apiError("unauthorized", "token signature invalid", { cause: err });
  if (err instanceof errors.JWKSTimeout) return apiError("unavailable", "login key set (JWKS) timed out", { cause: err });
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JOSENotSupported) {
    return apiError("unauthorized", "malformed token", { cause: err });
  }
  if (err instanceof errors.JWKSInvalid || (err instanceof errors.JOSEError && err.code === "ERR_JOSE_GENERIC")) {
    return apiError("unavailable", "login key set (JWKS) unavailable", { cause: err });
  }
  if (err instanceof errors.JOSEError) return apiError("unauthorized", "invalid token", { cause: err });
  // Network failures fetching the JWKS.
  return apiError("unavailable", "login key set (JWKS) unreachable", { cause: err });
}
