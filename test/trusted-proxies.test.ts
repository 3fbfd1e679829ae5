import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";
import { clientOrigin, parseTrustedProxies, type TrustedProxies } from "../src/server/trusted-proxies.js";
import { backends } from "./support/backends.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";

const proxies = (entries: string[]) => parseTrustedProxies(entries) as TrustedProxies;

describe("TRUSTED_PROXIES", () => {
  it("parses CIDRs and bare addresses (IPv4, IPv6, IPv4-mapped peers); refuses anything else naming the variable", () => {
    const t = proxies(["10.0.0.0/8", "192.168.1.7", "fd00::/8"]);
    expect(t.cidrs).toEqual(["10.0.0.0/8", "192.168.1.7/32", "fd00::/8"]);
    expect([t.has("10.2.3.4"), t.has("::ffff:10.2.3.4"), t.has("192.168.1.7"), t.has("192.168.1.8"), t.has("fd12::1"), t.has("2001:db8::1")]).toEqual([
      true,
      true,
      true,
      false,
      true,
      false,
    ]);
    for (const bad of ["10.0.0.0/33", "10.0.0/8", "proxy.local", "::/129", "10.0.0.0/8/1", "10.0.0.0/x"]) expect(parseTrustedProxies([bad])).toEqual({ bad });
    expect(() => loadConfig({ TRUSTED_PROXIES: "10.0.0.0/8, nonsense" })).toThrow(ConfigError);
    expect(() => loadConfig({ TRUSTED_PROXIES: "10.0.0.0/8, nonsense" })).toThrow(/TRUSTED_PROXIES: "nonsense"/);
    expect(loadConfig({ TRUSTED_PROXIES: "10.0.0.0/8 127.0.0.1" }).trustedProxies?.cidrs).toEqual(["10.0.0.0/8", "127.0.0.1/32"]);
    expect(loadConfig({}).trustedProxies).toBeUndefined();
  });

  it("takes the client from Forwarded / X-Forwarded-For only when the peer is trusted, skipping trusted hops from the right", () => {
    const t = proxies(["10.0.0.0/8"]);
    // Untrusted peer: its headers are ignored.
    expect(clientOrigin("203.0.113.9", { "x-forwarded-for": "198.51.100.1", "x-forwarded-proto": "https" }, t)).toEqual({ address: "203.0.113.9", scheme: undefined });
    expect(clientOrigin("203.0.113.9", { "x-forwarded-for": "198.51.100.1" }, undefined)).toEqual({ address: "203.0.113.9", scheme: undefined });
    // Trusted peer: the nearest untrusted hop; a forged left part changes nothing.
    expect(clientOrigin("10.0.0.2", { "x-forwarded-for": "6.6.6.6, 198.51.100.1", "x-forwarded-proto": "https" }, t)).toEqual({ address: "198.51.100.1", scheme: "https" });
    expect(clientOrigin("10.0.0.2", { "x-forwarded-for": "198.51.100.1, 10.0.0.3" }, t)).toEqual({ address: "198.51.100.1", scheme: undefined });
    // Every hop trusted: the leftmost.
    expect(clientOrigin("10.0.0.2", { "x-forwarded-for": "10.0.0.5, 10.0.0.3" }, t).address).toBe("10.0.0.5");
    // No forwarding header: the peer.
    expect(clientOrigin("10.0.0.2", {}, t)).toEqual({ address: "10.0.0.2", scheme: undefined });
    // RFC 7239, preferred over X-Forwarded-For: quoted IPv6 with port, IPv4 with port, proto per element.
    expect(
      clientOrigin("10.0.0.2", { forwarded: 'for="[2001:db8:cafe::17]:4711";proto=https, for=10.0.0.3;proto=http', "x-forwarded-for": "6.6.6.6" }, t),
    ).toEqual({ address: "2001:db8:cafe::17", scheme: "https" });
    expect(clientOrigin("10.0.0.2", { forwarded: 'for="192.0.2.60:8080";proto=http;by=10.0.0.2' }, t)).toEqual({ address: "192.0.2.60", scheme: "http" });
    // An obfuscated client stays counted as the proxy.
    expect(clientOrigin("10.0.0.2", { forwarded: "for=_hidden" }, t).address).toBe("10.0.0.2");
  });
});

describe.each(backends)("the failed-token limit behind a proxy on $name (a real gateway)", (backend) => {
  let trusting: TestGateway;
  let untrusting: TestGateway;
  beforeAll(async () => {
    // The test connects from 127.0.0.1: the proxy for the first gateway, an ordinary client for the second.
    trusting = await startTestGateway(backend, { AUTH_FAILURE_LIMIT: "3", TRUSTED_PROXIES: "127.0.0.0/8" });
    untrusting = await startTestGateway(backend, { AUTH_FAILURE_LIMIT: "3", TRUSTED_PROXIES: "10.0.0.0/8" });
  });
  afterAll(async () => {
    await trusting?.close();
    await untrusting?.close();
  });

  const call = async (gw: TestGateway, headers: Record<string, string>, token = `wag_${"x".repeat(43)}`) =>
    (await fetch(`${gw.url}/api/v1/sessions`, { headers: { authorization: `Bearer ${token}`, ...headers } })).status;

  it("counts each forwarded client separately: one client locked out, the next one and a good key still served", async () => {
    const good = await trusting.createKey(trusting.newOrgId(), ["manage", "read"]);
    for (let i = 0; i < 3; i++) expect(await call(trusting, { "x-forwarded-for": "198.51.100.1" })).toBe(401);
    expect(await call(trusting, { "x-forwarded-for": "198.51.100.1" })).toBe(429);
    expect(await call(trusting, { forwarded: "for=198.51.100.1" })).toBe(429); // the same client, said the RFC 7239 way
    expect(await call(trusting, { "x-forwarded-for": "198.51.100.1" }, good)).toBe(429); // refused without its token being looked at
    expect(await call(trusting, { "x-forwarded-for": "198.51.100.2" })).toBe(401);
    expect(await call(trusting, { "x-forwarded-for": "198.51.100.3" }, good)).toBe(200);
    // A client cannot step out of its lock by prepending addresses: the proxy appended the real one.
    expect(await call(trusting, { "x-forwarded-for": "6.6.6.6, 198.51.100.1" })).toBe(429);
  });

  it("ignores a forged X-Forwarded-For from a peer that is not a trusted proxy", async () => {
    for (let i = 0; i < 3; i++) expect(await call(untrusting, { "x-forwarded-for": `203.0.113.${i}` })).toBe(401);
    expect(await call(untrusting, { "x-forwarded-for": "203.0.113.99" })).toBe(429);
    expect(await call(untrusting, { forwarded: "for=203.0.113.98" })).toBe(429);
    expect(await call(untrusting, {})).toBe(429);
  });
});
