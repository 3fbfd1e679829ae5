import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends } from "./support/backends.js";
import { httpCall } from "./rest/http-call.js";
import { readStream } from "./rest/read-stream.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";
import { type ReceivedWebhook, startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.js";
import { waitUntil } from "./support/wait.js";

/** Compressed retry schedule: ten attempts over about 30 s (long enough for the outages below on a busy machine). */
const schedule = "0,100,200,400,800,1500,3000,5000,8000,10000";
/** A short one for the exhaustion test: five attempts. */
const shortSchedule = "0,50,100,150,200";

/** Verifies one delivery with the reference implementation; returns the parsed body. */
function verify(secret: string, r: ReceivedWebhook): { type: string; timestamp: string; data: any } {
  return new Webhook(secret).verify(r.body, { "webhook-id": r.id, "webhook-timestamp": r.timestamp, "webhook-signature": r.signature }) as never;
}

describe.each(backends)("webhooks on $name", (backend) => {
  let gw: TestGateway;
  let rx: WebhookReceiver;
  beforeAll(async () => {
    gw = await startTestGateway(backend, {
      WEBHOOK_ALLOW_HTTP: "true",
      WEBHOOK_ALLOW_PRIVATE: "true",
      WEBHOOK_RETRY_SCHEDULE_MS: schedule,
      WEBHOOK_TIMEOUT_MS: "1500",
      WEBHOOK_SCAN_MS: "200",
    });
    rx = await startWebhookReceiver();
  }, 60_000);
  afterAll(async () => {
    await rx?.close();
    await gw?.close();
  });

  async function newOrg(on: TestGateway = gw) {
    const org = on.newOrgId();
    const key = await on.createKey(org, ["manage", "read"]);
    const call = (method: string, path: string, body?: unknown) =>
      httpCall(on.url, method, path, {
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    return { org, key, call };
  }
  type Org = Awaited<ReturnType<typeof newOrg>>;

  async function createHook(o: Org, body: Record<string, unknown>, receiver = rx) {
    const res = await o.call("POST", "/api/v1/webhooks", { url: receiver.url, ...body });
    expect(res.status, res.text).toBe(201);
    return { id: res.json.webhook.id as string, secret: res.json.secret as string, webhook: res.json.webhook };
  }
  /** Creates a session; returns its id. */
  const newSession = async (o: Org, label: string) => {
    const res = await o.call("POST", "/api/v1/sessions", { label });
    expect(res.status, res.text).toBe(201);
    return res.json.id as string;
  };
  /** Deliveries in event-id order (several are in flight at once, so arrival order may differ). */
  const byEventId = (rs: ReceivedWebhook[]) => [...rs].sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : BigInt(a.id) > BigInt(b.id) ? 1 : 0));
  const mineOf = (receiver: WebhookReceiver, org: string, status2xx = true) =>
    byEventId((status2xx ? receiver.accepted() : receiver.received).filter((r) => JSON.parse(r.body).data.organizationId === org));

  it("creates an endpoint, shows the secret once, and delivers signed events equal to WatchEvents' REST JSON", async () => {
    const o = await newOrg();
    const { id, secret, webhook } = await createHook(o, { description: "main" });
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), "base64").length).toBeGreaterThanOrEqual(24);
    expect(webhook).toEqual({
      id,
      organizationId: o.org,
      url: rx.url,
      eventTypes: [],
      sessions: [],
      description: "main",
      enabled: true,
      disabledReason: null,
      createdAt: expect.any(Number),
      updatedAt: expect.any(Number),
    });
    const got = await o.call("GET", `/api/v1/webhooks/${id}`);
    expect(got.status).toBe(200);
    expect(got.json).toEqual(webhook);
    expect(got.text).not.toContain("whsec_");
    const list = await o.call("GET", "/api/v1/webhooks");
    expect(list.json).toEqual({ webhooks: [webhook] });

    const s = await newSession(o, "one");
    await o.call("PATCH", `/api/v1/sessions/${s}`, { label: "two" });
    await o.call("DELETE", `/api/v1/sessions/${s}`);
    const mine = await waitUntil("3 deliveries", () => (mineOf(rx, o.org).length >= 3 ? mineOf(rx, o.org) : undefined));
    const bodies = mine.map((r) => verify(secret, r));
    expect(bodies.map((b) => b.type)).toEqual(["session.created", "session.updated", "session.deleted"]);
    expect(mine.map((r) => r.id)).toEqual(bodies.map((b) => b.data.id));
    // No credential of ours travels with a delivery.
    for (const r of mine) {
      expect(JSON.stringify(r.headers)).not.toMatch(/wag_|whsec_|authorization/i);
      expect(r.body).not.toMatch(/wag_|whsec_/);
      expect(Number(r.timestamp)).toBeGreaterThan(Date.now() / 1000 - 60);
    }
    // data is the event exactly as WatchEvents gives it over REST.
    const after = (BigInt(bodies[0]!.data.id) - 1n).toString();
    const stream = await readStream(gw.url, `/api/v1/events?after=${after}`, { authorization: `Bearer ${o.key}`, accept: "application/x-ndjson" }, (t) => t.split("\n").filter((l) => l.includes('"result"')).length >= 3);
    const watched = stream.text.split("\n").filter((l) => l.includes('"result"')).map((l) => JSON.parse(l).result);
    expect(watched.filter((e: any) => e.id !== undefined).slice(0, 3)).toEqual(bodies.map((b) => b.data));
    for (const b of bodies) expect(b.timestamp).toBe(new Date(b.data.occurredAt).toISOString());
  });

  it("gives each endpoint exactly the types and sessions it asked for", async () => {
    const o = await newOrg();
    const s1 = await newSession(o, "s1");
    const s2 = await newSession(o, "s2");
    const rx2 = await startWebhookReceiver("/bysession");
    const rx3 = await startWebhookReceiver("/deletes");
    try {
      const bySession = await createHook(o, { eventTypes: ["session.*"], sessions: [s1.toLowerCase()] }, rx2);
      const deletes = await createHook(o, { eventTypes: ["session.deleted"] }, rx3);
      expect(bySession.webhook.sessions).toEqual([s1]);
      for (const s of [s1, s2]) await o.call("PATCH", `/api/v1/sessions/${s}`, { label: `renamed ${s}` });
      // s1's deletion comes last: once both receivers have it, every earlier event was taken or skipped.
      for (const s of [s2, s1]) await o.call("DELETE", `/api/v1/sessions/${s}`);
      const hasS1Deleted = (r: WebhookReceiver) => r.accepted().some((x) => JSON.parse(x.body).type === "session.deleted" && JSON.parse(x.body).data.sessionId === s1);
      const a = byEventId(await waitUntil("s1's deletion at the session endpoint", () => (hasS1Deleted(rx2) && rx2.accepted().length >= 2 ? rx2.accepted() : undefined)));
      const b = byEventId(await waitUntil("s1's deletion at the deletes endpoint", () => (hasS1Deleted(rx3) && rx3.accepted().length >= 2 ? rx3.accepted() : undefined)));
      expect(a.map((r) => verify(bySession.secret, r)).map((x) => [x.type, x.data.sessionId])).toEqual([
        ["session.updated", s1],
        ["session.deleted", s1],
      ]);
      expect(b.map((r) => verify(deletes.secret, r)).map((x) => [x.type, x.data.sessionId])).toEqual([
        ["session.deleted", s2],
        ["session.deleted", s1],
      ]);
      expect(rx2.accepted().length).toBe(2);
      expect(rx3.accepted().length).toBe(2);
      const bad = await o.call("POST", "/api/v1/webhooks", { url: rx.url, eventTypes: ["nope"], sessions: ["x"] });
      expect(bad.status).toBe(400);
      expect(bad.json.error.code).toBe("validation_error");
      expect(Object.keys(bad.json.error.details.fields).sort()).toEqual(["eventTypes", "sessions"]);
    } finally {
      await rx2.close();
      await rx3.close();
    }
  });

  it("signs with the old and the new secret during a rotation's overlap", async () => {
    const o = await newOrg();
    const { id, secret } = await createHook(o, {});
    const rot = await o.call("POST", `/api/v1/webhooks/${id}/rotate-secret`, {});
    expect(rot.status).toBe(200);
    const next = rot.json.secret as string;
    expect(next).toMatch(/^whsec_/);
    expect(next).not.toBe(secret);
    expect(rot.json.previousValidUntil).toBeGreaterThan(Date.now());
    await newSession(o, "after rotation");
    const [r] = await waitUntil("a delivery", () => (mineOf(rx, o.org).length >= 1 ? mineOf(rx, o.org) : undefined));
    expect(r!.signature.split(" ")).toHaveLength(2);
    expect(verify(next, r!).type).toBe("session.created");
    expect(verify(secret, r!).type).toBe("session.created");
    expect(() => new Webhook(`whsec_${Buffer.alloc(32, 7).toString("base64")}`).verify(r!.body, { "webhook-id": r!.id, "webhook-timestamp": r!.timestamp, "webhook-signature": r!.signature })).toThrow();
  });

  it("loses nothing while the receiver refuses connections, answers 500 and times out, with one webhook-id per event", async () => {
    const o = await newOrg();
    const flaky = await startWebhookReceiver("/flaky");
    try {
      const { id, secret } = await createHook(o, {}, flaky);
      await flaky.down();
      const created: string[] = [];
      for (let i = 0; i < 5; i++) created.push(await newSession(o, `refused ${i}`));
      await waitUntil("refused attempts", async () => {
        const d = await o.call("GET", `/api/v1/webhooks/${id}/deliveries?outcome=failed&pageSize=200`);
        return d.json.deliveries.filter((x: any) => /ECONNREFUSED/.test(x.error)).length >= 5 ? true : undefined;
      });
      await flaky.up();
      flaky.setMode({ status: 500 });
      for (let i = 0; i < 5; i++) created.push(await newSession(o, `500 ${i}`));
      await waitUntil("500s answered", () => (flaky.received.filter((r) => r.status === 500).length >= 5 ? true : undefined));
      flaky.setMode("hang");
      for (let i = 0; i < 3; i++) created.push(await newSession(o, `timeout ${i}`));
      await waitUntil("hung requests", () => (flaky.received.filter((r) => r.status === undefined).length >= 3 ? true : undefined));
      flaky.setMode({ status: 200 });
      const ok = await waitUntil("every event delivered", () => {
        const ids = new Set(flaky.accepted().map((r) => JSON.parse(r.body).data.sessionId));
        return created.every((s) => ids.has(s)) ? flaky.accepted() : undefined;
      }, 30_000);
      for (const r of ok) expect(verify(secret, r).type).toBe("session.created");
      // Every attempt of one event carries the same webhook-id and body.
      const bySession = new Map<string, Set<string>>();
      for (const r of flaky.received) {
        const b = JSON.parse(r.body);
        const set = bySession.get(b.data.sessionId) ?? new Set();
        set.add(`${r.id}|${r.body}`);
        bySession.set(b.data.sessionId, set);
      }
      for (const s of created) expect(bySession.get(s)?.size).toBe(1);
      expect(flaky.received.length).toBeGreaterThan(created.length);
      // The attempts are listed, failed ones with their error.
      const failed = await o.call("GET", `/api/v1/webhooks/${id}/deliveries?outcome=failed&pageSize=200`);
      expect(failed.status).toBe(200);
      const errors = failed.json.deliveries.map((d: any) => d.error as string);
      expect(errors.some((e: string) => /ECONNREFUSED/.test(e))).toBe(true);
      expect(errors.some((e: string) => /HTTP 500/.test(e))).toBe(true);
      expect(errors.some((e: string) => /no response within/.test(e))).toBe(true);
      expect(failed.json.deliveries.every((d: any) => d.outcome === "failed" && d.webhookId === id)).toBe(true);
      const hook = await o.call("GET", `/api/v1/webhooks/${id}`);
      expect(hook.json.enabled).toBe(true);
    } finally {
      await flaky.close();
    }
  });

  it("honours Retry-After on 429", async () => {
    const o = await newOrg();
    const slow = await startWebhookReceiver("/slow");
    try {
      let first = true;
      slow.setMode(() => (first ? ((first = false), { status: 429, headers: { "retry-after": "1" } }) : { status: 200 }));
      await createHook(o, {}, slow);
      await newSession(o, "limited");
      await waitUntil("delivered after 429", () => (slow.accepted().length >= 1 ? true : undefined), 10_000);
      const [a, b] = slow.received;
      expect(a!.status).toBe(429);
      expect(b!.id).toBe(a!.id);
      // The retry came no earlier than the receiver asked (1 s, whole seconds on the timestamps).
      expect(Number(b!.timestamp) - Number(a!.timestamp)).toBeGreaterThanOrEqual(1);
    } finally {
      await slow.close();
    }
  });

  it("410 disables the endpoint with a webhook.endpoint.disabled event; re-enabling delivers what was held", async () => {
    const o = await newOrg();
    const gone = await startWebhookReceiver("/gone");
    const watcher = await startWebhookReceiver("/watcher");
    try {
      const g = await createHook(o, {}, gone);
      const w = await createHook(o, { eventTypes: ["webhook.endpoint.disabled"] }, watcher);
      gone.setMode({ status: 410 });
      const s = await newSession(o, "to a gone receiver");
      const [ev] = await waitUntil("the disabled event", () => (watcher.accepted().length >= 1 ? watcher.accepted() : undefined));
      const body = verify(w.secret, ev!);
      expect(body.type).toBe("webhook.endpoint.disabled");
      expect(body.data).toMatchObject({ type: "webhook.endpoint.disabled", organizationId: o.org, sessionId: "", data: { webhookId: g.id, reason: "gone", url: gone.url } });
      const hook = await o.call("GET", `/api/v1/webhooks/${g.id}`);
      expect(hook.json).toMatchObject({ enabled: false, disabledReason: "gone" });
      expect(gone.received).toHaveLength(1);
      const dl = await o.call("GET", `/api/v1/webhooks/${g.id}/deliveries`);
      expect(dl.json.deliveries).toMatchObject([{ httpStatus: 410, outcome: "failed", attempt: 1, eventType: "session.created" }]);
      gone.setMode({ status: 200 });
      const re = await o.call("PATCH", `/api/v1/webhooks/${g.id}`, { enabled: true });
      expect(re.json).toMatchObject({ enabled: true, disabledReason: null });
      // The held event arrives (and, after it, the endpoint's own disabled event: it takes every type).
      const d = await waitUntil("held event delivered", () => gone.accepted().find((r) => verify(g.secret, r).data.sessionId === s));
      expect(d.id).toBe(gone.received[0]!.id);
    } finally {
      await gone.close();
      await watcher.close();
    }
  });

  it("replays events after an id with the same webhook-ids; pages through deliveries", async () => {
    const o = await newOrg();
    const rr = await startWebhookReceiver("/replay");
    try {
      const h = await createHook(o, {}, rr);
      for (let i = 0; i < 5; i++) await newSession(o, `r${i}`);
      const first = byEventId(await waitUntil("5 deliveries", () => (rr.accepted().length >= 5 ? rr.accepted().slice() : undefined)));
      const firstIds = first.map((r) => r.id);
      await waitUntil("5 attempts recorded", async () => ((await o.call("GET", `/api/v1/webhooks/${h.id}/deliveries?pageSize=200`)).json.deliveries.length >= 5 ? true : undefined));
      const before = rr.accepted().length;
      const rep = await o.call("POST", `/api/v1/webhooks/${h.id}/replay`, { after: firstIds[1] });
      expect(rep.status, rep.text).toBe(200);
      expect(rep.json).toEqual({ after: firstIds[1] });
      const again = await waitUntil("3 replayed", () => {
        const later = rr.accepted().slice(before);
        return firstIds.slice(2).every((id) => later.some((r) => r.id === id)) ? later : undefined;
      });
      expect(new Set(again.map((r) => r.id))).toEqual(new Set(firstIds.slice(2)));
      for (const r of again) verify(h.secret, r);
      const bad = await o.call("POST", `/api/v1/webhooks/${h.id}/replay`, { after: "x" });
      expect(bad.json.error).toMatchObject({ code: "validation_error", details: { fields: { after: expect.any(String) } } });

      // Deliveries: newest first, two per page, every attempt exactly once.
      // (An attempt is recorded just after its response: wait for the last one.)
      const total = await waitUntil("the replayed attempts recorded", async () => {
        const n = (await o.call("GET", `/api/v1/webhooks/${h.id}/deliveries?pageSize=200`)).json.deliveries.length;
        return n >= 8 ? n : undefined;
      });
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: any = await o.call("GET", `/api/v1/webhooks/${h.id}/deliveries?pageSize=2${cursor ? `&cursor=${cursor}` : ""}`);
        expect(page.status).toBe(200);
        expect(page.json.deliveries.length).toBeLessThanOrEqual(2);
        seen.push(...page.json.deliveries.map((d: any) => d.id));
        cursor = page.json.nextCursor;
      } while (cursor);
      expect(seen).toHaveLength(total);
      expect(new Set(seen).size).toBe(total);
      expect([...seen].sort().reverse()).toEqual(seen);
      const ok = await o.call("GET", `/api/v1/webhooks/${h.id}/deliveries?outcome=succeeded&pageSize=200`);
      expect(ok.json.deliveries.length).toBeGreaterThanOrEqual(8);
      expect(ok.json.deliveries[0]).toEqual({
        id: expect.any(String),
        webhookId: h.id,
        eventId: expect.any(String),
        eventType: "session.created",
        attempt: 1,
        outcome: "succeeded",
        httpStatus: 204,
        error: null,
        durationMs: expect.any(Number),
        attemptedAt: expect.any(Number),
      });
      // By time: from the first event that occurred at or after `since`.
      const third = JSON.parse(first[2]!.body).data;
      const bySince = await o.call("POST", `/api/v1/webhooks/${h.id}/replay`, { since: third.occurredAt });
      expect(bySince.status, bySince.text).toBe(200);
      expect(BigInt(bySince.json.after)).toBeLessThan(BigInt(third.id));
      expect(BigInt(bySince.json.after)).toBeGreaterThanOrEqual(BigInt(firstIds[0]!) - 1n);
      const both = await o.call("POST", `/api/v1/webhooks/${h.id}/replay`, { after: "1", since: 5 });
      expect(both.json.error.code).toBe("validation_error");
    } finally {
      await rr.close();
    }
  });

  it("sends a signed test event and reports the attempt", async () => {
    const o = await newOrg();
    const t = await startWebhookReceiver("/test");
    try {
      const h = await createHook(o, {}, t);
      const res = await o.call("POST", `/api/v1/webhooks/${h.id}/test`, {});
      expect(res.status, res.text).toBe(200);
      expect(res.json.delivery).toMatchObject({ webhookId: h.id, eventType: "webhook.test", outcome: "succeeded", httpStatus: 204 });
      const body = verify(h.secret, t.received[0]!);
      expect(body).toMatchObject({ type: "webhook.test", data: { type: "webhook.test", organizationId: o.org, data: { webhookId: h.id } } });
      expect(t.received[0]!.id).toBe(res.json.delivery.eventId);
    } finally {
      await t.close();
    }
  });

  it("answers not_found for another organization's endpoint on every route", async () => {
    const a = await newOrg();
    const b = await newOrg();
    const h = await createHook(a, {});
    const routes: [string, string, unknown?][] = [
      ["GET", `/api/v1/webhooks/${h.id}`],
      ["PATCH", `/api/v1/webhooks/${h.id}`, { description: "x" }],
      ["DELETE", `/api/v1/webhooks/${h.id}`],
      ["POST", `/api/v1/webhooks/${h.id}/rotate-secret`, {}],
      ["POST", `/api/v1/webhooks/${h.id}/test`, {}],
      ["GET", `/api/v1/webhooks/${h.id}/deliveries`],
      ["POST", `/api/v1/webhooks/${h.id}/replay`, { after: "0" }],
    ];
    for (const [m, p, body] of routes) {
      const res = await b.call(m, p, body);
      expect([m, p, res.status, res.json?.error?.code]).toEqual([m, p, 404, "not_found"]);
    }
    expect((await b.call("GET", "/api/v1/webhooks")).json).toEqual({ webhooks: [] });
    // Still there, unchanged, for its owner; then deleted.
    expect((await a.call("GET", `/api/v1/webhooks/${h.id}`)).json.description).toBeNull();
    expect((await a.call("DELETE", `/api/v1/webhooks/${h.id}`)).status).toBe(204);
    expect((await a.call("GET", `/api/v1/webhooks/${h.id}`)).status).toBe(404);
    expect((await a.call("GET", "/api/v1/webhooks/not-an-id")).status).toBe(404);
  });

  describe("with a short retry schedule", () => {
    let short: TestGateway;
    beforeAll(async () => {
      short = await startTestGateway(backend, {
        WEBHOOK_ALLOW_HTTP: "true",
        WEBHOOK_ALLOW_PRIVATE: "true",
        WEBHOOK_RETRY_SCHEDULE_MS: shortSchedule,
        WEBHOOK_TIMEOUT_MS: "20000",
        WEBHOOK_SCAN_MS: "200",
      });
    }, 60_000);
    afterAll(() => short?.close());

    it("a receiver that never answers delays no other endpoint", async () => {
      const o = await newOrg(short);
      const stuck = await startWebhookReceiver("/stuck");
      const fine = await startWebhookReceiver("/fine");
      try {
        stuck.setMode("hang");
        const s = await createHook(o, {}, stuck);
        await createHook(o, {}, fine);
        for (let i = 0; i < 10; i++) await newSession(o, `busy ${i}`);
        await waitUntil("10 deliveries at the other endpoint", () => (fine.accepted().length >= 10 ? true : undefined), 20_000);
        // Meanwhile the stuck endpoint holds its 4 requests open (its concurrency) and has not timed out once.
        const failed = await o.call("GET", `/api/v1/webhooks/${s.id}/deliveries`);
        expect(failed.json.deliveries).toEqual([]);
        expect(stuck.received.length).toBeLessThanOrEqual(4);
      } finally {
        await stuck.close();
        await fine.close();
      }
    });

    it("disables an endpoint whose event fails past the retry schedule", async () => {
      const o = await newOrg(short);
      const broken = await startWebhookReceiver("/broken");
      try {
        broken.setMode({ status: 503 });
        const h = await createHook(o, {}, broken);
        await newSession(o, "never accepted");
        const hook = await waitUntil(
          "disabled",
          async () => {
            const r = await o.call("GET", `/api/v1/webhooks/${h.id}`);
            return r.json.enabled === false ? r.json : undefined;
          },
          30_000,
        );
        expect(hook.disabledReason).toBe("failing");
        expect(broken.received).toHaveLength(shortSchedule.split(",").length);
        expect(new Set(broken.received.map((r) => r.id)).size).toBe(1);
        const dl = await o.call("GET", `/api/v1/webhooks/${h.id}/deliveries?pageSize=200`);
        expect(dl.json.deliveries.map((d: any) => d.attempt)).toEqual([5, 4, 3, 2, 1]);
      } finally {
        await broken.close();
      }
    });
  });

  it("reports deliveries in /metrics", async () => {
    const res = await httpCall(gw.url, "GET", "/metrics");
    expect(res.text).toMatch(/wagateway_webhook_deliveries_total\{outcome="succeeded"\} [1-9]/);
    expect(res.text).toMatch(/wagateway_webhook_deliveries_total\{outcome="http_error"\} [1-9]/);
    expect(res.text).toMatch(/wagateway_webhook_event_to_2xx_seconds_count [1-9]/);
    expect(res.text).toMatch(/wagateway_webhook_endpoints_delivering [1-9]/);
    expect(res.text).toMatch(/wagateway_webhook_pending_events \d+/);
  });
});
