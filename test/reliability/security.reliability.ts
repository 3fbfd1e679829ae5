import { createHmac, randomBytes } from "node:crypto";
import type http2 from "node:http2";
import type { DescMethod, JsonObject } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/wagateway/v1/api_key_service_pb.js";
import { SessionService } from "../../gen/wagateway/v1/session_service_pb.js";
import { backends } from "../support/backends.js";
import { type JwksServer, startJwksServer } from "../support/jwks-server.js";
import { startTestGateway, type TestGateway } from "../support/test-gateway.js";
import { type ProbeAnswer, probeConnect, probeGrpc, probeRest } from "./support/protocol-probe.js";
import { h1Request } from "./support/http1.js";
import { h2Connect } from "./support/raw-h2.js";
import { n, summary } from "./support/summary.js";

const ISS = "https://login.example.test";
const AUD = "wa-gateway";
const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
const listSessions = SessionService.method.listSessions;

/** Asks ListSessions with `token` over REST, Connect and gRPC. */
async function everyProtocol(gw: TestGateway, h2: http2.ClientHttp2Session, token: string): Promise<ProbeAnswer[]> {
  return [await probeRest(gw.url, "GET", "/api/v1/sessions", token, undefined), await probeConnect(gw.url, listSessions, token, {}), await probeGrpc(h2, listSessions, token, {})];
}

const unauthorized = [
  { protocol: "REST", status: 401, word: "unauthorized" },
  { protocol: "Connect", status: 401, word: "unauthenticated" },
  { protocol: "gRPC", status: 200, word: "unauthorized" },
];

describe.each(backends)("security on $name", (backend) => {
  let jwks: JwksServer;
  let gw: TestGateway;
  let h2: http2.ClientHttp2Session;
  let orgA: string;
  let orgB: string;
  let keyA: string;
  let keyB: string;

  beforeAll(async () => {
    jwks = await startJwksServer(ISS, AUD);
    gw = await startTestGateway(backend, { JWKS_URL: jwks.url, JWT_ISSUER: ISS, JWT_AUDIENCE: AUD, WA_WEBSOCKET_URL: "ws://127.0.0.1:9/ws" });
    h2 = h2Connect(gw.url);
    orgA = gw.newOrgId();
    orgB = gw.newOrgId();
    keyA = await gw.createKey(orgA, ["manage", "read"]);
    keyB = await gw.createKey(orgB, ["manage", "read"]);
  });
  afterAll(async () => {
    h2?.close();
    await gw?.close();
    await jwks?.close();
  });

  it("JWT matrix over REST, Connect and gRPC; cached signing keys keep working with the JWKS endpoint down", async () => {
    const claims = { sub: "user_1", org_id: orgA, role: "owner" };
    const payload = { ...claims, iss: ISS, aud: AUD, exp: Math.floor(Date.now() / 1000) + 300 };
    const hsHead = b64url({ alg: "HS256", typ: "JWT", kid: "k1" });
    const hsSig = createHmac("sha256", JSON.stringify(jwks.publicJwk)).update(`${hsHead}.${b64url(payload)}`).digest("base64url");
    const bad: [string, string][] = [
      ["alg none", `${b64url({ alg: "none", typ: "JWT" })}.${b64url(payload)}.`],
      ["HS256 with the public key as secret", `${hsHead}.${b64url(payload)}.${hsSig}`],
      ["expired", await jwks.sign(claims, { expiresIn: Math.floor(Date.now() / 1000) - 60 })],
      ["wrong issuer", await jwks.sign(claims, { issuer: "https://evil.example" })],
      ["wrong audience", await jwks.sign(claims, { audience: "someone-else" })],
      ["unknown kid", await jwks.signWithUnknownKey(claims)],
      ["garbage", "a.b.c"],
    ];
    for (const [name, token] of bad) expect(await everyProtocol(gw, h2, token), name).toEqual(unauthorized);
    const good = await jwks.sign(claims);
    expect((await everyProtocol(gw, h2, good)).map((a) => a.word)).toEqual(["ok", "ok", "ok"]);
    await jwks.close();
    const stillGood = await jwks.sign({ ...claims, sub: "user_2" });
    expect((await everyProtocol(gw, h2, stillGood)).map((a) => a.word), "cached keys after the JWKS went down").toEqual(["ok", "ok", "ok"]);
    summary(`security/JWT (${backend.name}): ${bad.length} forged or invalid token kinds × 3 protocols → unauthorized (401); valid tokens accepted, and still accepted from cached keys with the JWKS endpoint down`);
  });

  it("API-key brute force: rate limited per client after 100 misses, the real key unaffected elsewhere", { timeout: 120_000 }, async () => {
    // The attacker calls from another loopback address (the whole 127/8 reaches the gateway).
    const attacker = "127.0.0.2";
    const limit = 100; // AUTH_FAILURE_LIMIT's default
    const batch = 50;
    const h2a = h2Connect(gw.url, attacker);
    const probes = [
      (token: string) => probeRest(gw.url, "GET", "/api/v1/sessions", token, undefined, attacker),
      (token: string) => probeConnect(gw.url, listSessions, token, {}, attacker),
      (token: string) => probeGrpc(h2a, listSessions, token, {}),
    ];
    try {
      const attempts = 1_000;
      const words = new Map<string, number>();
      for (let i = 0; i < attempts; i += batch) {
        const answers = await Promise.all(
          Array.from({ length: batch }, (_, j) => probes[(i + j) % 3]!(`wag_${randomBytes(32).toString("base64url")}`)),
        );
        for (const a of answers) words.set(`${a.protocol} ${a.word}`, (words.get(`${a.protocol} ${a.word}`) ?? 0) + 1);
      }
      const answers = Object.fromEntries(words);
      const count = (re: RegExp) => [...words].filter(([w]) => re.test(w)).reduce((sum, [, c]) => sum + c, 0);
      const refused = count(/ (unauthorized|unauthenticated)$/);
      const limited = count(/ (rate_limited|resource_exhausted)$/);
      // Once blocked, even the real key is refused from that address, without being looked up, with a retry hint.
      const realFromAttacker = await Promise.all(probes.map((probe) => probe(keyA)));
      const retryAfter = (await h1Request(gw.url, "GET", "/api/v1/sessions", { authorization: `Bearer ${keyA}` }, undefined, undefined, attacker)).headers["retry-after"];
      // A near miss (the real key with its last character changed) from elsewhere is refused the same way as any miss.
      const near = keyA.slice(0, -1) + (keyA.endsWith("A") ? "B" : "A");
      expect(await everyProtocol(gw, h2, near)).toEqual(unauthorized);
      expect((await everyProtocol(gw, h2, keyA)).map((a) => a.word), "the real key from another address").toEqual(["ok", "ok", "ok"]);
      summary(
        `security/brute force (${backend.name}): ${n(attempts)} random API keys from one address over REST, Connect and gRPC → ${n(refused)} unauthorized, then ${n(limited)} rate_limited ` +
          `(429 / RESOURCE_EXHAUSTED, Retry-After ${String(retryAfter)} s) without a key lookup: ${JSON.stringify(answers)}; the real key from that address rate_limited too, from another address ok; ` +
          "keys are found by the SHA-256 of the presented secret (no secret compared byte by byte)",
      );
      expect(refused + limited).toBe(attempts);
      expect(refused).toBeGreaterThanOrEqual(limit);
      expect(refused).toBeLessThan(limit + batch); // calls already in flight when the limit was reached
      expect(realFromAttacker.map((a) => a.word)).toEqual(["rate_limited", "resource_exhausted", "rate_limited"]);
      expect(realFromAttacker.map((a) => a.status)).toEqual([429, 429, 200]);
      expect(Number(retryAfter)).toBeGreaterThan(0);
    } finally {
      h2a.close();
    }
  });

  it("cross-organization probes on every route and protocol answer not_found", { timeout: 120_000 }, async () => {
    const created = await probeRest(gw.url, "POST", "/api/v1/sessions", keyA, { label: "org A" });
    expect(created.word).toBe("ok");
    const sessionA = (await (await fetch(`${gw.url}/api/v1/sessions`, { headers: { authorization: `Bearer ${keyA}` } })).json()) as { sessions: { id: string }[] };
    const id = sessionA.sessions[0]!.id;
    const keysA = (await (await fetch(`${gw.url}/api/v1/api-keys`, { headers: { authorization: `Bearer ${keyA}` } })).json()) as { apiKeys?: { id: string }[]; keys?: { id: string }[] };
    const keyIdA = (keysA.apiKeys ?? keysA.keys ?? [])[0]!.id;

    // Every RPC that names a session or a key, with an otherwise valid request.
    const extra: Record<string, JsonObject> = { RequestPairingCode: { phoneNumber: "6281234567890" }, UpdateSession: { label: "stolen" } };
    const methods: DescMethod[] = [...SessionService.methods, ...ApiKeyService.methods].filter((m) => m.input.fields.some((f) => f.name === "session" || f.name === "key") && m.methodKind === "unary");
    const results: { what: string; answer: ProbeAnswer }[] = [];
    for (const m of methods) {
      const target: JsonObject = m.input.fields.some((f) => f.name === "key") ? { key: keyIdA } : { session: id };
      const body = { ...target, ...extra[m.name] };
      results.push({ what: m.name, answer: await probeConnect(gw.url, m, keyB, body) });
      results.push({ what: m.name, answer: await probeGrpc(h2, m, keyB, body) });
    }
    // Every REST route with a path variable.
    const openapi = (await (await fetch(`${gw.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    for (const [template, ops] of Object.entries(openapi.paths)) {
      if (!/\{(session|key)\}/.test(template)) continue;
      const path = template.replace("{session}", id).replace("{key}", keyIdA);
      for (const method of Object.keys(ops).filter((k) => ["get", "post", "patch", "delete"].includes(k))) {
        const name = template.endsWith("pairing-code") ? "RequestPairingCode" : method === "patch" ? "UpdateSession" : "";
        const body = method === "get" || method === "delete" ? undefined : (extra[name] ?? {});
        results.push({ what: `${method.toUpperCase()} ${template}`, answer: await probeRest(gw.url, method.toUpperCase(), path, keyB, body) });
      }
    }
    const unimplemented = results.filter((r) => r.answer.word === "unimplemented" || r.answer.status === 501);
    const leaks = results.filter((r) => !unimplemented.includes(r) && r.answer.word !== "not_found");
    // Org A still has its session, unchanged, and its key is not revoked.
    const after = await probeRest(gw.url, "GET", `/api/v1/sessions/${id}`, keyA, undefined);
    summary(
      `security/cross-org (${backend.name}): ${results.length} probes with another organization's key (${methods.length} RPCs × Connect, gRPC + ${results.length - 2 * methods.length} REST routes) → ` +
        `${results.length - leaks.length - unimplemented.length} not_found, ${leaks.length} other, ${unimplemented.length} not implemented yet; the target session and key untouched`,
    );
    expect(leaks.map((r) => `${r.what} ${r.answer.protocol}: ${r.answer.status} ${r.answer.word}`)).toEqual([]);
    expect(after.word).toBe("ok");
    expect((await everyProtocol(gw, h2, keyA)).map((a) => a.word)).toEqual(["ok", "ok", "ok"]);
  });
});

describe("security with the JWKS endpoint unreachable", () => {
  let gw: TestGateway;
  let h2: http2.ClientHttp2Session;
  beforeAll(async () => {
    gw = await startTestGateway(backends[0]!, { JWKS_URL: "http://127.0.0.1:9/jwks.json" });
    h2 = h2Connect(gw.url);
  });
  afterAll(async () => {
    h2?.close();
    await gw?.close();
  });

  it("answers unavailable (503), never 500, and API keys keep working", async () => {
    const token = `${b64url({ alg: "ES256", kid: "k1" })}.${b64url({ sub: "u", org_id: "org_x", role: "owner" })}.${"A".repeat(86)}`;
    expect(await everyProtocol(gw, h2, token)).toEqual([
      { protocol: "REST", status: 503, word: "unavailable" },
      { protocol: "Connect", status: 503, word: "unavailable" },
      { protocol: "gRPC", status: 200, word: "unavailable" },
    ]);
    const key = await gw.createKey(gw.newOrgId(), ["manage"]);
    expect((await everyProtocol(gw, h2, key)).map((a) => a.word)).toEqual(["ok", "ok", "ok"]);
    summary("security/JWKS down: JWTs → unavailable (503) over REST, Connect and gRPC; API keys unaffected");
  });
});
