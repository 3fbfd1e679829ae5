import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./support/gateway-process.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.js";

const lines = (s: string) => s.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, any>);

describe("wa-gateway webhooks commands", () => {
  let gw: TestGateway;
  let rx: WebhookReceiver;
  let env: Record<string, string>;
  beforeAll(async () => {
    gw = await startTestGateway({ name: "pglite", databaseUrl: undefined }, { WEBHOOK_ALLOW_HTTP: "true", WEBHOOK_ALLOW_PRIVATE: "true" });
    rx = await startWebhookReceiver();
    env = { WA_GATEWAY_URL: gw.url, WA_GATEWAY_TOKEN: await gw.createKey(gw.newOrgId(), ["manage", "read"]) };
  }, 60_000);
  afterAll(async () => {
    await rx?.close();
    await gw?.close();
  });

  it("create|list|get|update|test|deliveries|rotate-secret|replay|delete", async () => {
    const created = await runCli(["webhooks", "create", rx.url, "--event-type", "session.*", "--description", "cli"], env);
    expect(created.code, created.stderr).toBe(0);
    const out = created.stdout.trim().split("\n");
    const hook = JSON.parse(out[0]!);
    const secret = out[out.length - 1]!;
    expect(secret).toMatch(/^whsec_/);
    expect(hook).toMatchObject({ url: rx.url, eventTypes: ["session.*"], description: "cli", enabled: true });
    const id = hook.id as string;

    expect(lines((await runCli(["webhooks", "list"], env)).stdout).map((w) => w.id)).toEqual([id]);
    expect(lines((await runCli(["webhooks", "get", id, "--protocol", "grpc"], env)).stdout)[0]).toMatchObject({ id });
    expect(lines((await runCli(["webhooks", "update", id, "--disable"], env)).stdout)[0]).toMatchObject({ enabled: false });
    expect(lines((await runCli(["webhooks", "update", id, "--enable", "--description", "again"], env)).stdout)[0]).toMatchObject({ enabled: true, description: "again" });

    const tested = await runCli(["webhooks", "test", id], env);
    expect(tested.code, tested.stderr).toBe(0);
    expect(lines(tested.stdout)[0]).toMatchObject({ eventType: "webhook.test", outcome: "succeeded" });
    const r = rx.received[0]!;
    new Webhook(secret).verify(r.body, { "webhook-id": r.id, "webhook-timestamp": r.timestamp, "webhook-signature": r.signature });

    const deliveries = await runCli(["webhooks", "deliveries", id, "--outcome", "succeeded", "--limit", "10"], env);
    expect(lines(deliveries.stdout)).toHaveLength(1);

    const rotated = await runCli(["webhooks", "rotate-secret", id], env);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout.trim()).toMatch(/^whsec_/);
    expect(rotated.stdout.trim()).not.toBe(secret);

    const replay = await runCli(["webhooks", "replay", id, "--after", "0"], env);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stderr).toMatch(/after 0/);

    const bad = await runCli(["webhooks", "create", "ftp://x"], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^validation_error: .*\n\s+url: /);

    expect((await runCli(["webhooks", "delete", id], env)).code).toBe(0);
    const gone = await runCli(["webhooks", "get", id], env);
    expect(gone.code).toBe(3);
    expect(gone.stderr).toMatch(/^not_found: /);
  }, 120_000);
});
