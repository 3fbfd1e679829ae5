import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isPrivateAddress } from "../src/webhooks/url-guard.js";
import { createWebhookSender } from "../src/webhooks/webhook-sender.js";
import { httpCall } from "./rest/http-call.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.js";

describe("webhook SSRF guard", () => {
  let gw: TestGateway;
  let rx: WebhookReceiver;
  beforeAll(async () => {
    // The defaults: https only, no private destinations.
    gw = await startTestGateway({ name: "pglite", databaseUrl: undefined });
    rx = await startWebhookReceiver();
  }, 60_000);
  afterAll(async () => {
    await rx?.close();
    await gw?.close();
  });

  it("refuses private, loopback, link-local and non-https URLs at create and at update", async () => {
    const key = await gw.createKey(gw.newOrgId(), ["manage"]);
    const post = (url: string) =>
      httpCall(gw.url, "POST", "/api/v1/webhooks", { headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ url }) });
    const cases: [string, RegExp][] = [
      [rx.url, /https/],
      ["ftp://example.com/x", /https/],
      ["https://127.0.0.1/hook", /private/],
      ["https://127.1.2.3:8443/hook", /private/],
      ["https://10.0.0.8/hook", /private/],
      ["https://172.20.1.1/hook", /private/],
      ["https://192.168.1.10/hook", /private/],
      ["https://169.254.169.254/latest/meta-data", /private/],
      ["https://100.64.0.1/", /private/],
      ["https://0.0.0.0/", /private/],
      ["https://[::1]/hook", /private/],
      ["https://[fe80::1]/hook", /private/],
      ["https://[fd00::1]/hook", /private/],
      ["https://[::ffff:127.0.0.1]/hook", /private/],
      ["https://[::ffff:a00:1]/hook", /private/],
      ["https://localhost/hook", /private/],
      ["https://localhost./hook", /private|resolve/],
      ["not a url", /absolute URL/],
      ["", /required/],
    ];
    for (const [url, why] of cases) {
      const res = await post(url);
      expect([url, res.status, res.json?.error?.code]).toEqual([url, 400, "validation_error"]);
      expect(res.json.error.details.fields.url, url).toMatch(why);
    }
    const list = await httpCall(gw.url, "GET", "/api/v1/webhooks", { headers: { authorization: `Bearer ${key}` } });
    expect(list.json).toEqual({ webhooks: [] });
  });

  it("classifies addresses", () => {
    for (const a of ["127.0.0.1", "10.1.1.1", "172.31.255.255", "192.168.0.1", "169.254.1.1", "::1", "fe80::abcd", "fc00::1", "::ffff:10.0.0.1", "::", "224.0.0.1", "not-an-ip"]) {
      expect([a, isPrivateAddress(a)]).toEqual([a, true]);
    }
    for (const a of ["1.1.1.1", "8.8.8.8", "172.32.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]) {
      expect([a, isPrivateAddress(a)]).toEqual([a, false]);
    }
  });

  it("checks the resolved address at every connection, not only at save", async () => {
    const sender = createWebhookSender({ allowHttp: true, allowPrivate: false }, 2_000);
    try {
      // A host name that resolves to loopback is refused when connecting.
      const byName = await sender.send("w1", { url: `http://localhost:${rx.port}/hook`, headers: {}, body: "{}" }, 1);
      expect(byName.kind).toBe("blocked");
      expect(byName.status).toBeUndefined();
      const byIp = await sender.send("w2", { url: `http://127.0.0.1:${rx.port}/hook`, headers: {}, body: "{}" }, 1);
      expect(byIp.kind).toBe("blocked");
      expect(rx.received).toHaveLength(0);
    } finally {
      sender.close();
    }
    // With private destinations allowed the same request goes through.
    const open = createWebhookSender({ allowHttp: true, allowPrivate: true }, 2_000);
    try {
      const ok = await open.send("w3", { url: `http://localhost:${rx.port}/hook`, headers: {}, body: "{}" }, 1);
      expect(ok.kind).toBe("succeeded");
      expect(rx.received).toHaveLength(1);
    } finally {
      open.close();
    }
  });
});
