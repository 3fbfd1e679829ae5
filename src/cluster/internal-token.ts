import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Kysely } from "kysely";
import type { Authenticator } from "../auth/authenticator.js";
import { type Capability, isCapability, type Principal } from "../auth/principal.js";
import type { Database } from "../db/schema.js";
import { apiError } from "../errors/api-error.js";

/** Prefix of the bearer tokens gateways use to call each other. */
const prefix = "wagi.";

/** How long an internal token is accepted (clock skew between gateways included). */
const lifetimeMs = 30_000;

/** Signs and checks the bearer tokens one gateway sends another on behalf of a caller. */
export interface InternalTokens {
  /** A token that carries `principal` to another gateway for a short time. */
  mint(principal: Principal): string;
  /** The principal in a valid token; `unauthorized` with the precise reason otherwise. */
  verify(token: string): Principal;
}

/** The cluster's signing key: created once by the first gateway, shared through the database. */
export async function loadClusterSecret(db: Kysely<Database>): Promise<Buffer> {
  await db
    .insertInto("cluster_secret")
    .values({ secret: randomBytes(32).toString("base64") })
    .onConflict((oc) => oc.doNothing())
    .execute();
  const row = await db.selectFrom("cluster_secret").select("secret").executeTakeFirstOrThrow();
  return Buffer.from(row.secret, "base64");
}

/** HMAC-SHA256 tokens: `wagi.<payload>.<signature>`, base64url. */
export function internalTokens(secret: Buffer): InternalTokens {
  const sign = (payload: string) => createHmac("sha256", secret).update(payload).digest("base64url");
  return {
    mint(p) {
      const body = {
        kind: p.kind,
        org: p.organizationId,
        user: p.userId ?? null,
        key: p.apiKeyId ?? null,
        caps: [...p.capabilities],
        exp: Date.now() + lifetimeMs,
      };
      const payload = Buffer.from(JSON.stringify(body)).toString("base64url");
      return `${prefix}${payload}.${sign(payload)}`;
    },
    verify(token) {
      const [payload, signature] = token.slice(prefix.length).split(".");
      if (!payload || !signature) throw apiError("unauthorized", "malformed internal token");
      const expected = Buffer.from(sign(payload));
      const given = Buffer.from(signature);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw apiError("unauthorized", "internal token signature invalid");
      let body: { kind?: unknown; org?: unknown; user?: unknown; key?: unknown; caps?: unknown; exp?: unknown };
      try {
        body = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as typeof body;
      } catch {
        throw apiError("unauthorized", "malformed internal token");
      }
      if (typeof body.exp !== "number" || body.exp < Date.now()) throw apiError("unauthorized", "internal token expired");
      if (typeof body.org !== "string" || !Array.isArray(body.caps)) throw apiError("unauthorized", "malformed internal token");
      return {
        kind: body.kind === "user" ? "user" : "api_key",
        organizationId: body.org,
        userId: typeof body.user === "string" ? body.user : undefined,
        apiKeyId: typeof body.key === "string" ? body.key : undefined,
        capabilities: new Set(body.caps.filter((c): c is Capability => typeof c === "string" && isCapability(c))),
      };
    },
  };
}

/** Accepts internal tokens first, then whatever `next` accepts. */
export function withInternalTokens(tokens: InternalTokens, next: Authenticator): Authenticator {
  return async (authorization) => {
    const match = authorization ? /^Bearer +(wagi\.\S+)\s*$/i.exec(authorization) : null;
    if (match) return tokens.verify(match[1]!);
    return next(authorization);
  };
}
