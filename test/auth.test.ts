import { createHmac } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toJsonString } from "@bufbuild/protobuf";
import { ApiKeyService, ListApiKeysResponseSchema } from "../gen/wagateway/v1/api_key_service_pb.js";
import { Permission } from "../gen/wagateway/v1/api_key_pb.js";
import { SessionService } from "../gen/wagateway/v1/session_service_pb.js";
import { backends } from "./support/backends.js";
import { expectApiError } from "./support/expect-error.js";
import { type JwksServer, startJwksServer } from "./support/jwks-server.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";
import { clientFor, transportCases } from "./support/transports.js";

const ISS = "https://login.example.test";
const AUD = "wa-gateway";
const grpc = transportCases[0]!;
const connect = transportCases[1]!;

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

describe.each(backends)("auth on $name", (backend) => {
  let jwks: JwksServer;
  let gw: TestGateway;
  let orgA: string;
  let orgB: string;
  let keyA: string;
  let keyB: string;

  beforeAll(async () => {
    jwks = await startJwksServer(ISS, AUD);
    gw = await startTestGateway(backend, { JWKS_URL: jwks.url, JWT_ISSUER: ISS, JWT_AUDIENCE: AUD });
    orgA = gw.newOrgId();
    orgB = gw.newOrgId();
    keyA = await gw.createKey(orgA, ["manage", "read"]);
    keyB = await gw.createKey(orgB, ["manage", "read"]);
  });
  afterAll(async () => {
    await gw?.close();
    await jwks?.close();
  });

  const sessions = (token: string | undefined, tc = grpc) => clientFor(SessionService, tc, gw.url, token);

  it("accepts a valid login JWT and takes the organization, user and role from its claims", async () => {
    const token = await jwks.sign({ sub: "user_1", org_id: orgA, role: "admin" });
    const { session } = await sessions(token).createSession({ label: "by jwt" });
    expect(session).toMatchObject({ organizationId: orgA, createdByUserId: "user_1" });
    // Visible to an API key of the same organization.
    const got = await sessions(keyA, connect).getSession({ session: session!.id });
    expect(got.session!.id).toBe(session!.id);
  });

  it.each([
    ["no token", undefined],
    ["garbage", "garbage"],
    ["a three-part garbage JWT", "a.b.c"],
    ["an unknown API key", "wag_" + "A".repeat(43)],
    ["a malformed API key", "wag_short"],
  ])("rejects %s as unauthorized", async (_name, token) => {
    for (const tc of [grpc, connect]) {
      await expectApiError(sessions(token, tc).listSessions({}), "unauthorized", Code.Unauthenticated);
    }
  });

  it("rejects a non-bearer authorization header", async () => {
    const res = await fetch(`${gw.url}/wagateway.v1.SessionService/ListSessions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Basic ${Buffer.from("a:b").toString("base64")}` },
      body: "{}",
    });
    expect(res.status).toBe(401);
  });

  it("rejects expired, not-yet-valid, wrong-audience, wrong-issuer and unknown-kid JWTs", async () => {
    const claims = { sub: "user_1", org_id: orgA, role: "owner" };
    const cases: [string, Promise<string>, string][] = [
      ["expired", jwks.sign(claims, { expiresIn: Math.floor(Date.now() / 1000) - 60 }), "token expired"],
      ["not yet valid", jwks.sign(claims, { notBefore: Math.floor(Date.now() / 1000) + 600, expiresIn: "20m" }), "token not yet valid"],
      ["wrong audience", jwks.sign(claims, { audience: "someone-else" }), 'token claim "aud" is invalid'],
      ["wrong issuer", jwks.sign(claims, { issuer: "https://evil.example" }), 'token claim "iss" is invalid'],
      ["unknown kid", jwks.signWithUnknownKey(claims), "token signed by an unknown key"],
    ];
    for (const [name, tokenP, message] of cases) {
      const err = await expectApiError(sessions(await tokenP).listSessions({}), "unauthorized", Code.Unauthenticated);
      expect(err.rawMessage, name).toBe(message);
    }
  });

  it("rejects alg none and HS256 signed with the public key as the secret", async () => {
    const payload = { sub: "user_1", org_id: orgA, role: "owner", iss: ISS, aud: AUD, exp: Math.floor(Date.now() / 1000) + 300 };
    const none = `${b64url({ alg: "none", typ: "JWT" })}.${b64url(payload)}.`;
    await expectApiError(sessions(none).listSessions({}), "unauthorized");
    const noneWithKid = `${b64url({ alg: "none", kid: "k1" })}.${b64url(payload)}.`;
    await expectApiError(sessions(noneWithKid).listSessions({}), "unauthorized");

    const head = b64url({ alg: "HS256", typ: "JWT", kid: "k1" });
    const body = b64url(payload);
    const secret = JSON.stringify(jwks.publicJwk);
    const sig = createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
    const err = await expectApiError(sessions(`${head}.${body}.${sig}`).listSessions({}), "unauthorized");
    expect(err.rawMessage).toBe("token algorithm not allowed");
  });

  it("rejects a JWT without the organization claim", async () => {
    const token = await jwks.sign({ sub: "user_1", role: "owner" });
    const err = await expectApiError(sessions(token).listSessions({}), "unauthorized");
    expect(err.rawMessage).toContain("org_id");
  });

  it("answers forbidden to a member role and to a key without manage", async () => {
    const member = await jwks.sign({ sub: "user_2", org_id: orgA, role: "member" });
    await expectApiError(sessions(member).listSessions({}), "forbidden", Code.PermissionDenied);
    const unknownRole = await jwks.sign({ sub: "user_3", org_id: orgA, role: "superuser" });
    await expectApiError(sessions(unknownRole).createSession({}), "forbidden");
    const readOnly = await gw.createKey(orgA, ["read"]);
    await expectApiError(sessions(readOnly, connect).createSession({}), "forbidden", Code.PermissionDenied);
    await expectApiError(clientFor(ApiKeyService, grpc, gw.url, readOnly).listApiKeys({}), "forbidden");
  });

  it("isolates organizations: another org's session is not_found and never listed", async () => {
    const a = sessions(keyA);
    const b = sessions(keyB, connect);
    const { session } = await a.createSession({ label: "org A only" });
    const id = session!.id;
    await expectApiError(b.getSession({ session: id }), "not_found", Code.NotFound);
    await expectApiError(b.updateSession({ session: id, label: "hijack" }), "not_found");
    await expectApiError(b.deleteSession({ session: id }), "not_found");
    const listB = await b.listSessions({});
    expect(listB.sessions.some((s) => s.organizationId !== orgB)).toBe(false);
    expect(listB.sessions.map((s) => s.id)).not.toContain(id);
    // Untouched for its owner.
    expect((await a.getSession({ session: id })).session!.label).toBe("org A only");
    // A JWT of org B sees no more than org B's key.
    const tokenB = await jwks.sign({ sub: "user_b", org_id: orgB, role: "owner" });
    await expectApiError(sessions(tokenB).getSession({ session: id }), "not_found");
  });

  it("manages API keys: secret shown once, listed by prefix, revocation applies at once", async () => {
    const keys = clientFor(ApiKeyService, connect, gw.url, keyA);
    const created = await keys.createApiKey({ name: "ci bot", permissions: [Permission.MANAGE] });
    expect(created.secret).toMatch(/^wag_[A-Za-z0-9_-]{43}$/);
    expect(created.apiKey).toMatchObject({ organizationId: orgA, name: "ci bot", permissions: [Permission.MANAGE] });
    expect(created.secret.startsWith(created.apiKey!.prefix)).toBe(true);

    const bot = sessions(created.secret);
    await bot.listSessions({}); // works, and is now cached

    const listed = await keys.listApiKeys({});
    const entry = listed.apiKeys.find((k) => k.id === created.apiKey!.id);
    expect(entry).toBeDefined();
    expect(toJsonString(ListApiKeysResponseSchema, listed)).not.toContain(created.secret);
    expect(listed.apiKeys.every((k) => k.organizationId === orgA)).toBe(true);

    // Another organization cannot see or revoke it.
    const keysB = clientFor(ApiKeyService, grpc, gw.url, keyB);
    expect((await keysB.listApiKeys({})).apiKeys.map((k) => k.id)).not.toContain(created.apiKey!.id);
    await expectApiError(keysB.revokeApiKey({ key: created.apiKey!.id }), "not_found");
    await bot.listSessions({});

    await keys.revokeApiKey({ key: created.apiKey!.id });
    await expectApiError(bot.listSessions({}), "unauthorized");
    const after = (await keys.listApiKeys({})).apiKeys.find((k) => k.id === created.apiKey!.id);
    expect(after!.revokedAt).toBeDefined();
  });

  it("validates new keys", async () => {
    const keys = clientFor(ApiKeyService, grpc, gw.url, keyA);
    await expectApiError(keys.createApiKey({ name: "", permissions: [Permission.READ] }), "validation_error");
    await expectApiError(keys.createApiKey({ name: "no perms", permissions: [] }), "validation_error");
    await expectApiError(keys.createApiKey({ name: "bad perm", permissions: [Permission.UNSPECIFIED] }), "validation_error");
  });
});

describe("auth with the JWKS endpoint down", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(backends[0]!, { JWKS_URL: "http://127.0.0.1:9/jwks.json" });
  });
  afterAll(() => gw?.close());

  it("answers unavailable for JWTs and keeps accepting API keys", async () => {
    const org = gw.newOrgId();
    const key = await gw.createKey(org, ["manage"]);
    const token = `${b64url({ alg: "ES256", kid: "k1" })}.${b64url({ sub: "u", org_id: org, role: "owner" })}.${"A".repeat(86)}`;
    await expectApiError(clientFor(SessionService, grpc, gw.url, token).listSessions({}), "unavailable", Code.Unavailable);
    const ok = await clientFor(SessionService, grpc, gw.url, key).listSessions({});
    expect(ok.sessions).toEqual([]);
  });
});
