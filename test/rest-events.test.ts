import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends } from "./support/backends.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";
import { httpCall } from "./rest/http-call.js";
import { type OpenApiCheck, openApiCheck } from "./rest/openapi-check.js";
import { readStream, sseEvents } from "./rest/read-stream.js";

describe.each(backends)("WatchEvents over REST on $name", (backend) => {
  let gw: TestGateway;
  let check: OpenApiCheck;
  beforeAll(async () => {
    gw = await startTestGateway(backend, { EVENTS_HEARTBEAT_MS: "200", SSE_HEARTBEAT_MS: "300" });
    check = await openApiCheck(gw.url);
  });
  afterAll(() => gw?.close());

  async function newOrg() {
    const org = gw.newOrgId();
    const key = await gw.createKey(org, ["manage", "read"]);
    const auth = { authorization: `Bearer ${key}` };
    const post = (path: string, body: unknown) => httpCall(gw.url, "POST", path, { headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify(body) });
    return { org, key, auth, post };
  }
  const validate = (path: string, r: { status: number; headers: Record<string, unknown>; text: string }) =>
    check.response("GET", path, { status: r.status, contentType: r.headers["content-type"] as string, text: r.text });

  it("streams SSE: id lines carry the event id, data is the event in the JSON profile, comments are heartbeats", async () => {
    const { org, auth, post } = await newOrg();
    const a = (await post("/api/v1/sessions", { label: "a" })).json;
    await httpCall(gw.url, "DELETE", `/api/v1/sessions/${a.id}`, { headers: auth });
    const r = await readStream(gw.url, "/api/v1/events?since=0", { ...auth, accept: "text/event-stream" }, (t) => sseEvents(t.slice(0, t.lastIndexOf("\n\n") + 2)).length >= 2 && t.includes(": heartbeat"));
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    validate("/api/v1/events", r);
    const events = sseEvents(r.text);
    expect(events.map((e) => e.data.type)).toEqual(["session.created", "session.deleted"]);
    for (const e of events) {
      expect(e.id).toBe(e.data.id);
      expect(Object.keys(e.data).sort()).toEqual(["data", "id", "occurredAt", "organizationId", "sessionId", "type"]);
      expect(e.data).toMatchObject({ organizationId: org, sessionId: a.id });
      expect(typeof e.data.occurredAt).toBe("number");
    }
    expect(events[0]!.data.data.session).toMatchObject({ id: a.id, label: "a", status: "stopped", phoneNumber: null });
    expect(r.text).toMatch(/^: /m);
  });

  it("resumes from Last-Event-ID (and from ?after=): every later event, none twice", async () => {
    const { auth, post } = await newOrg();
    for (const label of ["1", "2", "3"]) await post("/api/v1/sessions", { label });
    const all = sseEvents((await readStream(gw.url, "/api/v1/events?since=0", { ...auth, accept: "text/event-stream" }, (t) => sseEvents(t.slice(0, t.lastIndexOf("\n\n") + 2)).length >= 3)).text);
    expect(all).toHaveLength(3);
    const [first, second, third] = all.map((e) => e.id!);
    const resumed = await readStream(gw.url, "/api/v1/events", { ...auth, accept: "text/event-stream", "last-event-id": first! }, (t) => sseEvents(t.slice(0, t.lastIndexOf("\n\n") + 2)).length >= 2);
    expect(sseEvents(resumed.text).map((e) => e.id)).toEqual([second, third]);
    const byQuery = await readStream(gw.url, `/api/v1/events?after=${second}`, { ...auth, accept: "text/event-stream" }, (t) => sseEvents(t.slice(0, t.lastIndexOf("\n\n") + 2)).length >= 1);
    expect(sseEvents(byQuery.text).map((e) => e.id)).toEqual([third]);
  });

  it("streams NDJSON by default with {result} lines; filters by repeated query parameters", async () => {
    const { auth, post } = await newOrg();
    const a = (await post("/api/v1/sessions", { label: "a" })).json;
    const b = (await post("/api/v1/sessions", { label: "b" })).json;
    await httpCall(gw.url, "PATCH", `/api/v1/sessions/${a.id}`, { headers: { ...auth, "content-type": "application/json" }, body: '{"label":"a2"}' });
    const lines = (t: string) => t.split("\n").filter((l) => l !== "");
    const r = await readStream(gw.url, `/api/v1/events?since=0&types=session.created&sessions=${b.id}&sessions=${a.id}`, auth, (t) => lines(t).length >= 2);
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/x-ndjson");
    validate("/api/v1/events", r);
    const got = lines(r.text).map((l) => JSON.parse(l));
    expect(got.map((x) => Object.keys(x))).toEqual([["result"], ["result"]]);
    expect(got.map((x) => [x.result.type, x.result.sessionId])).toEqual([
      ["session.created", a.id],
      ["session.created", b.id],
    ]);
  });

  it("rejects a bad resume point or filter before streaming, in the envelope", async () => {
    const { auth } = await newOrg();
    for (const path of ["/api/v1/events?since=abc", "/api/v1/events?after=1&after=2", "/api/v1/events?bogus=1"]) {
      const r = await httpCall(gw.url, "GET", path, { headers: auth });
      expect(r.status, path).toBe(400);
      expect(r.json.error.code).toBe("validation_error");
      validate("/api/v1/events", { status: r.status, headers: r.headers, text: r.text });
    }
  });
});
