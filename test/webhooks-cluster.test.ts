import pg from "pg";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends } from "./support/backends.js";
import { httpCall } from "./rest/http-call.js";
import { type GatewayProcess, runCli, spawnGateway } from "./support/gateway-process.js";
import { createScratchDatabase, type ScratchDatabase } from "./support/scratch-database.js";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.js";
import { waitUntil } from "./support/wait.js";

const pgBackend = backends.find((b) => b.name === "postgres");

describe.runIf(pgBackend)("webhooks with two gateway processes on one PostgreSQL", { timeout: 180_000 }, () => {
  let scratch: ScratchDatabase;
  let db: pg.Client;
  let rx: WebhookReceiver;
  let key: string;
  const procs = new Map<string, GatewayProcess>();
  const env = (name: string) => ({
    DATABASE_URL: scratch.url,
    GATEWAY_ID: name,
    LEASE_TTL_MS: "3000",
    WEBHOOK_ALLOW_HTTP: "true",
    WEBHOOK_ALLOW_PRIVATE: "true",
    WEBHOOK_SCAN_MS: "300",
    WEBHOOK_TIMEOUT_MS: "2000",
    WEBHOOK_RETRY_SCHEDULE_MS: "0,100,200,400,800,1000,2000,2000,2000,2000",
    WA_WEBSOCKET_URL: "ws://127.0.0.1:9/ws/chat",
  });

  beforeAll(async () => {
    scratch = await createScratchDatabase(pgBackend!.databaseUrl!);
    db = new pg.Client({ connectionString: scratch.url });
    await db.connect();
    for (const name of ["gw-a", "gw-b"]) procs.set(name, await spawnGateway(env(name)));
    key = (await runCli(["apikey", "create", "--org", "org_wh", "--name", "t", "--permissions", "manage,read"], { DATABASE_URL: scratch.url })).stdout.trim();
    rx = await startWebhookReceiver();
    // A receiver that takes a little time, so deliveries are in flight when the deliverer dies.
    rx.setMode({ status: 200, delayMs: 40 });
  });
  afterAll(async () => {
    await Promise.all([...procs.values()].map((p) => p.stop("SIGKILL").catch(() => {})));
    await rx?.close();
    await db?.end();
    await scratch?.drop();
  });

  const call = (via: string, method: string, path: string, body?: unknown) =>
    httpCall(procs.get(via)!.url, method, path, {
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const holderName = async () =>
    (await db.query<{ name: string }>("select g.name from webhooks w join gateways g on g.id = w.lease_holder")).rows[0]?.name;

  it("SIGKILL of the delivering gateway mid-stream: every event arrives, duplicates only with the same webhook-id", async () => {
    const created = await call("gw-a", "POST", "/api/v1/webhooks", { url: rx.url });
    expect(created.status, created.text).toBe(201);
    const secret = created.json.secret as string;
    const holder = await waitUntil("a deliverer", holderName);
    const survivor = holder === "gw-a" ? "gw-b" : "gw-a";
    // Events are produced through the survivor, before, during and after the kill.
    const total = 60;
    for (let i = 0; i < total; i++) {
      const res = await call(survivor, "POST", "/api/v1/sessions", { label: `e${i}` });
      expect(res.status).toBe(201);
      if (i === 20) {
        await waitUntil("deliveries under way", () => (rx.accepted().length >= 5 ? true : undefined));
        await procs.get(holder)!.stop("SIGKILL");
        procs.delete(holder);
      }
    }
    const expected = (await db.query<{ id: string }>("select id::text as id from events where organization_id = 'org_wh' and type = 'session.created' order by id")).rows.map((r) => r.id);
    expect(expected).toHaveLength(total);
    await waitUntil(
      () => `all ${total} events (have ${new Set(rx.accepted().map((r) => r.id)).size})`,
      () => {
        const got = new Set(rx.accepted().map((r) => r.id));
        return expected.every((id) => got.has(id)) ? true : undefined;
      },
      60_000,
    );
    expect(await holderName()).toBe(survivor);
    const wh = new Webhook(secret);
    const byId = new Map<string, Set<string>>();
    for (const r of rx.accepted()) {
      wh.verify(r.body, { "webhook-id": r.id, "webhook-timestamp": r.timestamp, "webhook-signature": r.signature });
      const body = JSON.parse(r.body);
      expect(body.data.id).toBe(r.id);
      byId.set(r.id, (byId.get(r.id) ?? new Set()).add(r.body));
    }
    // Nothing beyond the expected events, and a duplicate is always the same event with the same id and body.
    expect([...byId.keys()].sort()).toEqual([...expected].sort());
    for (const bodies of byId.values()) expect(bodies.size).toBe(1);
    const duplicates = rx.accepted().length - byId.size;
    console.log(`webhooks SIGKILL: ${total} events, ${rx.accepted().length} 2xx deliveries, ${duplicates} duplicates (same webhook-id), holder ${holder} killed, ${survivor} took over`);
    expect(duplicates).toBeGreaterThanOrEqual(0);
  });
});
