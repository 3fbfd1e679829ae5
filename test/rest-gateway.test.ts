import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends } from "./support/backends.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";
import { httpCall, type HttpResult } from "./rest/http-call.js";
import { type OpenApiCheck, openApiCheck } from "./rest/openapi-check.js";

/** The keys of the seed's example row (seed/sessions-api.txt); ours (statusReason, lastError, restriction) are added where checked. */
const seedKeys = [
  "autoRead",
  "createdAt",
  "createdByUserId",
  "gatewayId",
  "id",
  "isAdminSession",
  "label",
  "lastConnectedAt",
  "organizationId",
  "phoneNumber",
  "presenceTyping",
  "ratePerHour",
  "ratePerMin",
  "status",
  "updatedAt",
  "waJid",
  "waLid",
];

describe.each(backends)("REST contract routes on $name", (backend) => {
  let gw: TestGateway;
  let check: OpenApiCheck;
  let org: string;
  let key: string;
  let readOnly: string;
  let manageOnly: string;
  let otherKey: string;

  const call = async (method: string, path: string, opts: { token?: string | null; body?: unknown; raw?: string | Buffer; headers?: Record<string, string> } = {}): Promise<HttpResult> => {
    const headers: Record<string, string> = { ...opts.headers };
    const token = opts.token === undefined ? key : opts.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body: string | Buffer | undefined = opts.raw;
    if (opts.body !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(opts.body);
    }
    const r = await httpCall(gw.url, method, path, { headers, ...(body !== undefined && { body }) });
    check.response(method, path.split("?")[0]!, { status: r.status, contentType: r.headers["content-type"], text: r.text });
    return r;
  };
  const expectError = (r: HttpResult, status: number, code: string) => {
    expect(r.status, r.text).toBe(status);
    expect(r.headers["content-type"]).toBe("application/json");
    expect(Object.keys(r.json)).toEqual(["error"]);
    expect(Object.keys(r.json.error)).toEqual(["code", "message", "details"]);
    expect(r.json.error.code).toBe(code);
    expect(typeof r.json.error.message).toBe("string");
  };

  beforeAll(async () => {
    gw = await startTestGateway(backend);
    org = gw.newOrgId();
    key = await gw.createKey(org, ["manage", "read"]);
    readOnly = await gw.createKey(org, ["read"]);
    manageOnly = await gw.createKey(org, ["manage"]);
    otherKey = await gw.createKey(gw.newOrgId(), ["manage", "read"]);
    check = await openApiCheck(gw.url);
  });
  afterAll(() => gw?.close());

  it("the seed's curl: POST /api/v1/sessions -d '{}' → 201 with every key of the example row", async () => {
    const before = Date.now();
    const r = await call("POST", "/api/v1/sessions", { raw: "{}", headers: { "content-type": "application/json" } });
    expect(r.status).toBe(201);
    expect(r.headers["content-type"]).toBe("application/json");
    expect(Object.keys(r.json).sort()).toEqual([...seedKeys, "statusReason", "lastError", "restriction"].sort());
    expect(r.json).toMatchObject({
      organizationId: org,
      label: null,
      status: "stopped",
      autoRead: false,
      presenceTyping: true,
      ratePerMin: 20,
      ratePerHour: 600,
      phoneNumber: null,
      waJid: null,
      waLid: null,
      gatewayId: null,
      isAdminSession: false,
      createdByUserId: null,
      lastConnectedAt: null,
      statusReason: null,
      lastError: null,
      restriction: null,
    });
    expect(r.json.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(typeof r.json.createdAt).toBe("number");
    expect(r.json.createdAt).toBeGreaterThanOrEqual(before - 1000);
    expect(r.json.updatedAt).toBe(r.json.createdAt);
  });

  it("creates with settings, gets, lists, updates and deletes a session", async () => {
    const created = await call("POST", "/api/v1/sessions", { body: { label: "Support line", autoRead: true, presenceTyping: false, ratePerMin: "5", ratePerHour: 100, start: true } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ label: "Support line", autoRead: true, presenceTyping: false, ratePerMin: 5, ratePerHour: 100, status: "starting" });
    const id = created.json.id as string;

    const got = await call("GET", `/api/v1/sessions/${id}`);
    expect(got.status).toBe(200);
    // The engine may move a started session on (status, updatedAt); the rest is as created.
    const { status: _s, updatedAt: _u, statusReason: _r, lastError: _e, ...stable } = created.json;
    expect(got.json).toMatchObject(stable);
    expect(Object.keys(got.json).sort()).toEqual(Object.keys(created.json).sort());
    // Ids are case-insensitive (ULIDs).
    expect((await call("GET", `/api/v1/sessions/${id.toLowerCase()}`)).json.id).toBe(id);

    const list = await call("GET", "/api/v1/sessions");
    expect(list.status).toBe(200);
    expect(Object.keys(list.json).sort()).toEqual(["nextCursor", "sessions"]);
    expect(list.json.nextCursor).toBeNull();
    expect(list.json.sessions.map((s: { id: string }) => s.id)).toContain(id);
    for (const s of list.json.sessions) expect(Object.keys(s).sort()).toEqual([...seedKeys, "statusReason", "lastError", "restriction"].sort());

    const updated = await call("PATCH", `/api/v1/sessions/${id}`, { body: { label: "", ratePerMin: 7 } });
    expect(updated.status).toBe(200);
    expect(updated.json).toMatchObject({ id, label: null, ratePerMin: 7, ratePerHour: 100 });

    const del = await call("DELETE", `/api/v1/sessions/${id}`);
    expect(del.status).toBe(204);
    expect(del.text).toBe("");
    expectError(await call("GET", `/api/v1/sessions/${id}`), 404, "not_found");
    expectError(await call("DELETE", `/api/v1/sessions/${id}`), 404, "not_found");
  });

  it("creates, lists and revokes API keys", async () => {
    const created = await call("POST", "/api/v1/api-keys", { body: { name: "deploy-bot", permissions: ["manage", "read"] } });
    expect(created.status).toBe(201);
    expect(created.json.secret).toMatch(/^wag_/);
    expect(created.json.apiKey).toMatchObject({ name: "deploy-bot", permissions: ["manage", "read"], organizationId: org, revokedAt: null, lastUsedAt: null, createdByUserId: null });
    const newKey = created.json.secret as string;
    expect((await call("GET", "/api/v1/sessions", { token: newKey })).status).toBe(200);

    const list = await call("GET", "/api/v1/api-keys");
    expect(list.json.apiKeys.map((k: { id: string }) => k.id)).toContain(created.json.apiKey.id);

    const revoked = await call("DELETE", `/api/v1/api-keys/${created.json.apiKey.id}`);
    expect(revoked.status).toBe(204);
    expectError(await call("GET", "/api/v1/sessions", { token: newKey }), 401, "unauthorized");
    expectError(await call("POST", "/api/v1/api-keys", { body: { name: "x", permissions: ["admin"] } }), 400, "validation_error");
  });

  it("validation_error names the field: settings, unknown fields, wrong types, malformed JSON, bad ids, query", async () => {
    const cases: [string, string, unknown, string][] = [
      ["POST", "/api/v1/sessions", { label: "x".repeat(101) }, "label"],
      ["POST", "/api/v1/sessions", { ratePerMin: 0 }, "ratePerMin"],
      ["POST", "/api/v1/sessions", { nope: true }, "nope"],
      ["POST", "/api/v1/sessions", { autoRead: "yes" }, "autoRead"],
      ["POST", "/api/v1/sessions", { ratePerHour: 1.5 }, "ratePerHour"],
      ["POST", "/api/v1/sessions", { ratePerHour: 1e30 }, "ratePerHour"],
      ["POST", "/api/v1/sessions", [], "body"],
      ["PATCH", "/api/v1/sessions/01J9ZX8K2QHV0M3T6R7P4N5W8C", { presenceTyping: 1 }, "presenceTyping"],
      ["POST", "/api/v1/api-keys", { name: "" , permissions: ["read"] }, "name"],
    ];
    for (const [method, path, body, field] of cases) {
      const r = await call(method, path, { body });
      expectError(r, 400, "validation_error");
      expect(Object.keys(r.json.error.details.fields), JSON.stringify(body)).toEqual([field]);
    }
    const malformed = await call("POST", "/api/v1/sessions", { raw: '{"label":', headers: { "content-type": "application/json" } });
    expectError(malformed, 400, "validation_error");
    expect(Object.keys(malformed.json.error.details.fields)).toEqual(["body"]);
    const badId = await call("GET", "/api/v1/sessions/not-a-ulid");
    expectError(badId, 400, "validation_error");
    expect(badId.json.error.details.fields).toEqual({ session: "must be a session id (ULID)" });
    const query = await call("GET", "/api/v1/sessions?limit=5");
    expectError(query, 400, "validation_error");
    expect(query.json.error.details.fields).toEqual({ limit: "unknown query parameter" });
  });

  it("unauthorized (401 + WWW-Authenticate), forbidden (403), not_found across organizations (404)", async () => {
    for (const token of [null, "wag_not_a_real_key", ""]) {
      const r = await call("GET", "/api/v1/sessions", { token });
      expectError(r, 401, "unauthorized");
      expect(r.headers["www-authenticate"]).toBe("Bearer");
    }
    expectError(await call("POST", "/api/v1/sessions", { token: readOnly, body: {} }), 403, "forbidden");
    expectError(await call("GET", "/api/v1/api-keys", { token: readOnly }), 403, "forbidden");
    // WatchEvents needs `read`: a manage-only key is refused before the stream starts.
    expectError(await call("GET", "/api/v1/events", { token: manageOnly }), 403, "forbidden");
    expectError(await call("GET", "/api/v1/events", { token: null }), 401, "unauthorized");

    const mine = await call("POST", "/api/v1/sessions", { body: {} });
    const id = mine.json.id as string;
    expectError(await call("GET", `/api/v1/sessions/${id}`, { token: otherKey }), 404, "not_found");
    expectError(await call("PATCH", `/api/v1/sessions/${id}`, { token: otherKey, body: { label: "x" } }), 404, "not_found");
    expectError(await call("DELETE", `/api/v1/sessions/${id}`, { token: otherKey }), 404, "not_found");
    expectError(await call("GET", "/api/v1/sessions/01J9ZX8K2QHV0M3T6R7P4N5W8C"), 404, "not_found");
    expectError(await call("DELETE", "/api/v1/api-keys/01J9ZX8K2QHV0M3T6R7P4N5W8C"), 404, "not_found");
    expect((await call("GET", "/api/v1/sessions", { token: otherKey })).json.sessions).toEqual([]);
  });

  it("unknown routes are 404 and wrong methods 405 with Allow, in the envelope", async () => {
    expectError(await call("GET", "/api/v1/nothing"), 404, "not_found");
    expectError(await call("GET", "/"), 404, "not_found");
    const r = await call("PUT", "/api/v1/sessions");
    expectError(r, 405, "not_found");
    expect(r.headers.allow).toBe("GET, POST");
    const s = await call("POST", "/api/v1/sessions/01J9ZX8K2QHV0M3T6R7P4N5W8C");
    expectError(s, 405, "not_found");
    expect(s.headers.allow).toBe("DELETE, GET, PATCH");
  });

  it("lifecycle RPCs reach the engine after auth, with the contract's answers for an unpaired session", async () => {
    const mine = await call("POST", "/api/v1/sessions", { body: {} });
    const id = mine.json.id as string;
    const steps = [
      ["GET", `/api/v1/sessions/${id}/qr`, undefined, 409],
      ["POST", `/api/v1/sessions/${id}/pairing-code`, { phoneNumber: "6281234567890" }, 409],
      ["POST", `/api/v1/sessions/${id}/logout`, {}, 409],
      ["POST", `/api/v1/sessions/${id}/start`, {}, 200],
      ["POST", `/api/v1/sessions/${id}/restart`, {}, 200],
      ["POST", `/api/v1/sessions/${id}/stop`, {}, 200],
    ] as const;
    for (const [method, path, body, status] of steps) {
      const r = await call(method, path, { body });
      if (status === 409) expectError(r, 409, "conflict");
      else expect(r.status, `${method} ${path}: ${r.text}`).toBe(200);
      expectError(await call(method, path, { token: null, body }), 401, "unauthorized");
    }
    const stopped = await call("GET", `/api/v1/sessions/${id}`);
    expect(stopped.json).toMatchObject({ id, status: "stopped" });
  });

  it("serves /openapi.json without credentials, describing every contract route", () => {
    const paths = check.doc.paths;
    expect(Object.keys(paths).sort()).toEqual(
      [
        "/api/v1/api-keys",
        "/api/v1/api-keys/{key}",
        "/api/v1/events",
        "/api/v1/gateways",
        "/api/v1/sessions",
        "/api/v1/sessions/{session}",
        "/api/v1/sessions/{session}/logout",
        "/api/v1/sessions/{session}/pairing-code",
        "/api/v1/sessions/{session}/qr",
        "/api/v1/sessions/{session}/restart",
        "/api/v1/sessions/{session}/start",
        "/api/v1/sessions/{session}/stop",
        "/api/v1/webhooks",
        "/api/v1/webhooks/{webhook}",
        "/api/v1/webhooks/{webhook}/deliveries",
        "/api/v1/webhooks/{webhook}/replay",
        "/api/v1/webhooks/{webhook}/rotate-secret",
        "/api/v1/webhooks/{webhook}/test",
        "/api/v1/sessions/{session}/messages",
        "/api/v1/sessions/{session}/messages/{message}",
        "/api/v1/sessions/{session}/messages/{message}/media",
        "/api/v1/sessions/{session}/check-numbers",
        "/openapi.json",
      ].sort(),
    );
    expect(Object.keys(paths["/api/v1/sessions"].post.responses)).toContain("201");
    expect(Object.keys(paths["/api/v1/sessions/{session}"].delete.responses)).toContain("204");
    // SendMessage is accepted into the outbox (http_success_status), media is raw bytes (google.api.HttpBody).
    expect(Object.keys(paths["/api/v1/sessions/{session}/messages"].post.responses)).toContain("202");
    expect(Object.keys(paths["/api/v1/sessions/{session}/messages/{message}/media"].get.responses["200"].content)).toEqual(["*/*"]);
    expect(check.doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
    expect(check.doc.components.schemas["wagateway.v1.Session"].properties.status.enum).toEqual(["unspecified", "stopped", "starting", "scan_qr_code", "working", "failed"]);
    expect(Object.keys(paths["/api/v1/events"].get.responses["200"].content).sort()).toEqual(["application/x-ndjson", "text/event-stream"]);
    // The contract's QR as a PNG with Accept: image/png.
    expect(Object.keys(paths["/api/v1/sessions/{session}/qr"].get.responses["200"].content)).toEqual(["application/json", "image/png"]);
  });
});
