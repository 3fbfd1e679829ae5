import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpCall } from "./rest/http-call.js";
import { repoRoot } from "./support/gateway-process.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";
import { waitUntil } from "./support/wait.js";

/** The README's code block marked `<!-- readme-test: name -->`. */
function readmeBlock(name: string): string {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  const m = new RegExp(`<!-- readme-test: ${name} -->\\n\`\`\`\\w+\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (!m) throw new Error(`README has no block "${name}"`);
  return m[1]!;
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

describe("the README's webhook receiver verifies real deliveries", () => {
  let gw: TestGateway;
  let receiver: ChildProcess | undefined;
  const file = join(repoRoot, `.readme-webhook-receiver-${process.pid}.mjs`);
  beforeAll(async () => {
    gw = await startTestGateway({ name: "pglite", databaseUrl: undefined }, { WEBHOOK_ALLOW_HTTP: "true", WEBHOOK_ALLOW_PRIVATE: "true" });
  }, 60_000);
  afterAll(async () => {
    receiver?.kill("SIGKILL");
    rmSync(file, { force: true });
    await gw?.close();
  });

  it("accepts signed events (once per webhook-id) and refuses forged ones", async () => {
    const key = await gw.createKey(gw.newOrgId(), ["manage"]);
    const call = (method: string, path: string, body?: unknown) =>
      httpCall(gw.url, method, path, { headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/`;
    // The secret is known only after create, and the URL is checked at create: create, then start the receiver.
    const created = await call("POST", "/api/v1/webhooks", { url, eventTypes: ["session.created"] });
    expect(created.status, created.text).toBe(201);
    writeFileSync(file, readmeBlock("webhook-receiver"));
    receiver = spawn(process.execPath, [file], { env: { ...process.env, WEBHOOK_SECRET: created.json.secret, PORT: String(port) }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    receiver.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    await waitUntil("the receiver listening", async () => (await httpCall(url, "POST", "", { body: "{}" }).catch(() => undefined))?.status === 400 || undefined);

    const session = (await call("POST", "/api/v1/sessions", { label: "hello" })).json.id as string;
    await waitUntil("the receiver's line", () => (stdout.includes(`session.created ${session}`) ? true : undefined));
    const test = await call("POST", `/api/v1/webhooks/${created.json.webhook.id}/test`, {});
    expect(test.json.delivery).toMatchObject({ outcome: "succeeded", httpStatus: 204 });
    // A replay repeats the webhook-id: accepted (2xx), not handled twice.
    await call("POST", `/api/v1/webhooks/${created.json.webhook.id}/replay`, { after: "0" });
    await waitUntil("the replayed delivery", async () => {
      const d = await call("GET", `/api/v1/webhooks/${created.json.webhook.id}/deliveries?outcome=succeeded`);
      return d.json.deliveries.filter((x: any) => x.eventType === "session.created").length >= 2 ? true : undefined;
    });
    expect(stdout.split(`session.created ${session}`).length - 1).toBe(1);
    const forged = await httpCall(url, "POST", "", {
      headers: { "webhook-id": "1", "webhook-timestamp": String(Math.floor(Date.now() / 1000)), "webhook-signature": `v1,${Buffer.alloc(32).toString("base64")}` },
      body: "{}",
    });
    expect(forged.status).toBe(400);
  }, 60_000);
});
