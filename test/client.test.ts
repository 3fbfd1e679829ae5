import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Code,
  ConnectError,
  createGatewayClient,
  errorReason,
  errorViolations,
  Permission,
  type GatewayTransportOptions,
} from "wa-gateway/client";
import { backends } from "./support/backends.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";

type Choice = Omit<GatewayTransportOptions, "baseUrl" | "token">;

const choices: [string, Choice][] = [
  ["gRPC", { protocol: "grpc" }],
  ["Connect (default: HTTP/1.1, JSON)", {}],
  ["Connect (HTTP/2, binary)", { protocol: "connect", httpVersion: "2", useBinaryFormat: true }],
  ["gRPC-Web (HTTP/1.1)", { protocol: "grpc-web" }],
  ["gRPC-Web (HTTP/2, JSON)", { protocol: "grpc-web", httpVersion: "2", useBinaryFormat: false }],
];

describe.each(backends)("client factory on $name", (backend) => {
  let gw: TestGateway;
  let token: string;
  beforeAll(async () => {
    gw = await startTestGateway(backend);
    token = await gw.createKey(gw.newOrgId(), ["manage", "read"]);
  });
  afterAll(() => gw?.close());

  describe.each(choices)("%s", (_name, choice) => {
    it("creates, lists and gets sessions; lists and creates API keys", async () => {
      const client = createGatewayClient({ baseUrl: gw.url + "/", token, ...choice });
      const { session } = await client.sessions.createSession({ label: "client test" });
      expect(session?.label).toBe("client test");
      const { sessions } = await client.sessions.listSessions({});
      expect(sessions.map((s) => s.id)).toContain(session!.id);
      const got = await client.sessions.getSession({ session: session!.id });
      expect(got.session?.id).toBe(session!.id);
      const created = await client.apiKeys.createApiKey({ name: "bot", permissions: [Permission.READ] });
      expect(created.secret).toMatch(/^wag_/);
      const { apiKeys } = await client.apiKeys.listApiKeys({});
      expect(apiKeys.map((k) => k.id)).toContain(created.apiKey!.id);
    });

    it("streams WatchEvents", async () => {
      const client = createGatewayClient({ baseUrl: gw.url, token, ...choice });
      const ac = new AbortController();
      const stream = client.sessions.watchEvents({ types: ["session.created"] }, { signal: ac.signal });
      const it = stream[Symbol.asyncIterator]();
      const first = await it.next(); // a heartbeat at once
      expect(first.value?.payload.case).toBe("heartbeat");
      const { session } = await client.sessions.createSession({ label: "watched" });
      for (;;) {
        const next = await it.next();
        if (next.value?.payload.case !== "event") continue;
        expect(next.value.payload.value).toMatchObject({ type: "session.created", sessionId: session!.id });
        break;
      }
      ac.abort();
      await it.return?.();
    });

    it("surfaces errors as ConnectError with the contract word", async () => {
      const client = createGatewayClient({ baseUrl: gw.url, token, ...choice });
      const notFound = await client.sessions.getSession({ session: "01J9ZX8K2QHV0M3T6R7P4N5W8C" }).catch((e: unknown) => e);
      expect(notFound).toBeInstanceOf(ConnectError);
      expect((notFound as ConnectError).code).toBe(Code.NotFound);
      expect(errorReason(notFound)).toBe("not_found");

      const invalid = await client.sessions.createSession({ label: "x".repeat(500) }).catch((e: unknown) => e);
      expect(errorReason(invalid)).toBe("validation_error");
      expect(Object.keys(errorViolations(invalid))).toContain("label");

      const anonymous = createGatewayClient({ baseUrl: gw.url, ...choice });
      expect(errorReason(await anonymous.sessions.listSessions({}).catch((e: unknown) => e))).toBe("unauthorized");
      const wrongKey = createGatewayClient({ baseUrl: gw.url, token: "wag_nope", ...choice });
      expect(errorReason(await wrongKey.sessions.listSessions({}).catch((e: unknown) => e))).toBe("unauthorized");
    });
  });

  it("a read-only key is forbidden to manage; a non-RPC error is internal", async () => {
    const readOnly = await gw.createKey(gw.newOrgId(), ["read"]);
    const client = createGatewayClient({ baseUrl: gw.url, token: readOnly, protocol: "grpc" });
    expect(errorReason(await client.sessions.createSession({}).catch((e: unknown) => e))).toBe("forbidden");
    expect(errorReason(new Error("boom"))).toBe("internal");
    expect(() => createGatewayClient({ baseUrl: gw.url, protocol: "grpc", httpVersion: "1.1" })).toThrow(/HTTP\/2/);
  });
});
