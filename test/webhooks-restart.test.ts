import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { afterAll, describe, expect, it } from "vitest";
import { httpCall } from "./rest/http-call.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";
import { startWebhookReceiver } from "./support/webhook-receiver.js";
import { waitUntil } from "./support/wait.js";

describe("webhooks across a gateway restart (embedded database)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "wagw-wh-restart-"));
  let gw: TestGateway | undefined;
  afterAll(async () => {
    await gw?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("delivers after the restart what the receiver missed before it", async () => {
    const rx = await startWebhookReceiver();
    const env = { DATA_DIR: dataDir, WEBHOOK_ALLOW_HTTP: "true", WEBHOOK_ALLOW_PRIVATE: "true", WEBHOOK_RETRY_SCHEDULE_MS: "0,200,400,800,1000,1000,1000,1000,1000,1000" };
    gw = await startTestGateway({ name: "pglite", databaseUrl: undefined }, env);
    const key = await gw.createKey(gw.newOrgId(), ["manage", "read"]);
    const call = (method: string, path: string, body?: unknown) =>
      httpCall(gw!.url, method, path, { headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    const created = await call("POST", "/api/v1/webhooks", { url: rx.url });
    const { id } = created.json.webhook;
    const secret = created.json.secret as string;
    await rx.down();
    const sessions: string[] = [];
    for (let i = 0; i < 5; i++) sessions.push((await call("POST", "/api/v1/sessions", { label: `before restart ${i}` })).json.id);
    await waitUntil("failed attempts", async () => ((await call("GET", `/api/v1/webhooks/${id}/deliveries?outcome=failed`)).json.deliveries.length >= 5 ? true : undefined));
    await gw.stop();
    await rx.up();
    expect(rx.received).toHaveLength(0);
    gw = await startTestGateway({ name: "pglite", databaseUrl: undefined }, env);
    await waitUntil("every event after the restart", () => {
      const got = new Set(rx.accepted().map((r) => JSON.parse(r.body).data.sessionId));
      return sessions.every((s) => got.has(s)) ? true : undefined;
    });
    for (const r of rx.accepted()) new Webhook(secret).verify(r.body, { "webhook-id": r.id, "webhook-timestamp": r.timestamp, "webhook-signature": r.signature });
    expect(new Set(rx.accepted().map((r) => r.id)).size).toBe(rx.accepted().length);
    await rx.close();
  }, 120_000);
});
