import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { AxeBuilder } from "@axe-core/playwright";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends } from "./support/backends.js";
import { repoRoot } from "./support/gateway-process.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";
import { waitUntil } from "./support/wait.js";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.js";
import { quietLibsignal, startWaSimulator, type WaSimulator } from "./wa-sim/index.js";

const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const haveChromium = existsSync(chromiumPath);
if (!haveChromium) {
  console.warn(`console browser test SKIPPED: no Chromium at ${chromiumPath} (apt-get install chromium; .ci/run does it where it can)`);
}

const out = join(repoRoot, "test-output", "console");
const desktop = { width: 1280, height: 860 };
const phoneSize = { width: 390, height: 844 };
const pages = ["sessions", "chat", "webhooks", "keys", "gateways", "events"] as const;

// Page code as functions (the console's CSP forbids string evaluation); this file is type-checked
// without the DOM library, hence `any` for the page's globals.
const text = (page: Page, selector: string) => page.evaluate((sel) => ((globalThis as any).document.querySelector(sel)?.textContent ?? "") as string, selector);
/** What the text at a selector must be: one of `equals`, or contain `includes`, or be non-empty. */
type TextWant = { equals?: string[]; includes?: string };
const waitText = (page: Page, selector: string, want: TextWant, timeout = 30_000) =>
  page.waitForFunction(
    ([sel, w]) => {
      const t = (globalThis as any).document.querySelector(sel)?.textContent as string | undefined;
      if (t == null) return false;
      if (w.equals) return w.equals.includes(t);
      if (w.includes !== undefined) return t.includes(w.includes);
      return t.length > 0;
    },
    [selector, want] as const,
    { timeout },
  );

/** Runs axe on the page; returns the serious and critical violations (id: target list). */
async function axe(page: Page): Promise<string[]> {
  const r = await new AxeBuilder({ page }).analyze();
  return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

describe.skipIf(!haveChromium)("web console at /console/ in headless Chromium (real Baileys against the simulator)", () => {
  let sim: WaSimulator;
  let gw: TestGateway;
  let rx: WebhookReceiver;
  let browser: Browser;
  let untrust: () => void;
  let key: string;
  let orgId: string;
  /** A read-only key created in the console's API keys page. */
  let readKey: string | undefined;

  const newContext = async (viewport = desktop): Promise<{ context: BrowserContext; page: Page; problems: string[] }> => {
    const context = await browser.newContext({ viewport });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: gw.url });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(`pageerror: ${String(e)}`));
    page.on("console", (m) => {
      if (m.type() === "error" && /Content.Security.Policy|Refused to/i.test(m.text())) problems.push(`csp: ${m.text()}`);
    });
    return { context, page, problems };
  };
  const signIn = async (page: Page, token: string) => {
    await page.goto(`${gw.url}/console/`);
    await page.fill("#token", token);
    await page.press("#token", "Enter");
  };

  beforeAll(async () => {
    quietLibsignal();
    mkdirSync(out, { recursive: true });
    sim = await startWaSimulator({ qrRefs: 6 });
    untrust = await sim.media.trustGlobally();
    rx = await startWebhookReceiver();
    gw = await startTestGateway(backends[0]!, {
      WA_WEBSOCKET_URL: sim.url,
      WA_ROOT_PUBLIC_KEY: Buffer.from(sim.rootPublicKey).toString("base64"),
      WA_CONNECT_TIMEOUT_MS: "5000",
      WA_QR_TIMEOUT_MS: "5000", // the QR rotates while the page is open: it must redraw
      MEDIA_ALLOW_PRIVATE: "true",
      OUTBOX_POLL_MS: "500",
      WEBHOOK_ALLOW_HTTP: "true",
      WEBHOOK_ALLOW_PRIVATE: "true",
      WEBHOOK_TIMEOUT_MS: "3000",
    });
    orgId = gw.newOrgId();
    key = await gw.createKey(orgId, ["manage", "read"]);
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await rx?.close();
    untrust?.();
    await sim?.close();
  });

  it("is served same-origin with a strict CSP and only its own assets", async () => {
    const res = await fetch(`${gw.url}/console/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("unsafe-eval");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    expect(html).not.toMatch(/\sstyle=/);
    const redirect = await fetch(`${gw.url}/console`, { redirect: "manual" });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get("location")).toBe("/console/");
    const js = await fetch(`${gw.url}/console/app.js`);
    expect(js.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(js.headers.get("content-security-policy")).toBe(csp);
  });

  it("sign in → create with start → QR → scan → working live → chat: text decrypted by the contact, reply live, status read; webhook test event verifies; every page passes axe", async () => {
    const { context, page, problems } = await newContext();
    try {
      await signIn(page, key);
      await page.waitForSelector("#new-session");
      await waitText(page, "main", { includes: "No sessions yet" });
      expect(await page.evaluate(() => (globalThis as any).sessionStorage.getItem("wa-gateway.console.token") as string | null)).toBe(key);

      // Create with start: the console opens the pairing page and draws the QR.
      await page.click("#new-session");
      await page.fill('form[aria-label="New session"] input[name="label"]', "Shop phone");
      await page.fill('form[aria-label="New session"] input[name="ratePerMin"]', "30");
      await page.click('form[aria-label="New session"] button[type="submit"]');
      const qr = await page.waitForFunction(() => (globalThis as any).document.querySelector("#qr")?.dataset.qr as string | undefined, undefined, { timeout: 30_000 });
      const first = (await qr.jsonValue()) as string;
      const firstAttempt = Number(await text(page, "#qr-attempt"));
      const id = decodeURIComponent(new URL(page.url()).hash.split("/")[2]!);
      expect(id).not.toBe("");
      expect(firstAttempt).toBeGreaterThanOrEqual(1);
      expect(Number(await text(page, "#qr-expiry"))).toBeGreaterThanOrEqual(0);
      expect(Number(await text(page, "#qr-expiry"))).toBeLessThanOrEqual(5);
      // The QR rotates: the page redraws it from the auth.qr events, with the next attempt number.
      const rotated = await page.waitForFunction(
        (prev) => {
          const q = (globalThis as any).document.querySelector("#qr")?.dataset.qr as string | undefined;
          return q && q !== prev ? q : undefined;
        },
        first,
        { timeout: 20_000 },
      );
      const ref = (await rotated.jsonValue()) as string;
      expect(Number(await text(page, "#qr-attempt"))).toBeGreaterThan(firstAttempt);
      const dark = await page.evaluate(() => {
        const c = (globalThis as any).document.querySelector("#qr");
        const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data as Uint8ClampedArray;
        let n = 0;
        for (let i = 0; i < px.length; i += 4) if (px[i]! < 128) n++;
        return n;
      });
      expect(dark).toBeGreaterThan(1000);
      expect(await axe(page)).toEqual([]);
      await page.screenshot({ path: join(out, "pairing-desktop.png"), fullPage: true });
      await page.setViewportSize(phoneSize);
      await page.screenshot({ path: join(out, "pairing-phone.png"), fullPage: true });
      await page.setViewportSize(desktop);

      // To the sessions table (no reload), then the simulator scans: the row turns working live.
      await page.click('nav a[href="#/sessions"]');
      const row = `#sessions tr[data-id="${id}"] [data-status]`;
      await waitText(page, row, { equals: ["scan_qr_code"] });
      const phone = `1558${process.pid % 1000}0001`;
      await sim.scanQr(ref, { phoneNumber: phone });
      await waitText(page, row, { equals: ["working"] }, 60_000);
      expect(await text(page, `#sessions tr[data-id="${id}"]`)).toContain(`+${phone}`);

      // Chat: open a chat with the contact, send a text; the contact decrypts exactly it.
      const alice = sim.contact(`1559${process.pid % 1000}0001`, { name: "Alice" });
      await page.click(`#sessions tr[data-id="${id}"] a[href="#/chat/${id}"]`);
      await page.fill("#new-chat", `+${alice.phone}`);
      await page.press("#new-chat", "Enter");
      const body = `Hello from the console ${Date.now()}`;
      await page.fill("#compose-text", body);
      await page.click("#send");
      const got = await alice.waitForMessage((m) => (m.message.conversation ?? m.message.extendedTextMessage?.text) === body, 30_000);
      expect(got.message.conversation ?? got.message.extendedTextMessage?.text).toBe(body);
      const outMsg = `#thread li[data-direction="out"]`;
      await waitText(page, `${outMsg} [data-status]`, { equals: ["sent", "delivered", "read"] });
      // The contact replies: the reply appears with no reload.
      await alice.sendText(phone, "Got it, thanks!");
      await waitText(page, "#thread", { includes: "Got it, thanks!" });
      // Receipts: delivered, then read, shown live on the sent message.
      alice.sendReceipt(phone, got.id, "delivery");
      alice.sendReceipt(phone, got.id, "read");
      await waitText(page, `${outMsg} [data-status]`, { equals: ["read"] });
      expect(await text(page, `${outMsg} .body`)).toBe(body);
      // Attach a file: sent as a document with the text as caption; the contact downloads the same bytes.
      const bytes = Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 31) % 256));
      await page.fill("#compose-text", "the report");
      await page.setInputFiles("#compose-file", { name: "report.pdf", mimeType: "application/pdf", buffer: bytes });
      await page.click("#send");
      const doc = await alice.waitForMessage((m) => Boolean(m.message.documentMessage ?? m.message.documentWithCaptionMessage), 30_000);
      const docMsg = doc.message.documentMessage ?? doc.message.documentWithCaptionMessage?.message?.documentMessage;
      expect(docMsg).toMatchObject({ fileName: "report.pdf", mimetype: "application/pdf" });
      expect(Buffer.from(sim.media.download(doc.message, "document")).equals(bytes)).toBe(true);
      await waitText(page, "#thread", { includes: "[document report.pdf] the report" });
      // Still the same document: the page never reloaded (the sign-in form never came back).
      expect(await page.$("#token")).toBeNull();

      // Webhooks: create → the secret shown once → a test event that verifies with it.
      await page.click('nav a[href="#/webhooks"]');
      await page.click("#new-webhook");
      await page.fill('form[aria-label="New webhook"] input[name="url"]', rx.url);
      await page.fill('form[aria-label="New webhook"] input[name="description"]', "console test");
      await page.click('form[aria-label="New webhook"] button[type="submit"]');
      await page.waitForSelector("code[data-secret]");
      const secret = await text(page, "code[data-secret]");
      expect(secret).toMatch(/^whsec_/);
      await page.click("div.secret button:has-text('Copy')");
      expect(await page.evaluate(() => (globalThis as any).navigator.clipboard.readText() as Promise<string>)).toBe(secret);
      await page.click("div.secret button:has-text('Done')");
      expect(await page.$("code[data-secret]")).toBeNull();
      await page.click("button:has-text('Send test event')");
      await waitText(page, "#webhook-note", { includes: "Test event" });
      const delivered = await waitUntil("test event at the receiver", () => rx.received.find((r) => r.body.includes("webhook.test") || r.body.includes("test")));
      const verified = new Webhook(secret).verify(delivered.body, { "webhook-id": delivered.id, "webhook-timestamp": delivered.timestamp, "webhook-signature": delivered.signature }) as { type: string };
      expect(verified.type).toMatch(/test/);
      await page.click("button:has-text('Deliveries')");
      await page.waitForSelector("[data-delivery] [data-outcome]");

      // API keys: create a read-only key (secret shown once) for the read-only case below.
      await page.click('nav a[href="#/keys"]');
      await page.fill('form[aria-label="New API key"] input[name="name"]', "viewer");
      await page.uncheck('form[aria-label="New API key"] input[type="checkbox"]');
      await page.click('form[aria-label="New API key"] button[type="submit"]');
      await page.waitForSelector("code[data-secret]");
      readKey = await text(page, "code[data-secret]");
      expect(readKey).toMatch(/^wag_/);
      await page.click("div.secret button:has-text('Done')");

      // Every page: axe (no serious/critical), screenshots at desktop and phone width.
      const routes = [...pages.map((p) => (p === "chat" ? `chat/${id}` : p))];
      for (const route of routes) {
        const name = route.split("/")[0]!;
        await page.setViewportSize(desktop);
        await page.evaluate((h) => ((globalThis as any).location.hash = h), `#/${route}`);
        await page.waitForSelector(`nav a[aria-current="page"][href="#/${name}"]`);
        await page.waitForFunction(() => !(globalThis as any).document.querySelector("main .loading"), undefined, { timeout: 15_000 });
        if (name === "chat") {
          await page.click(`button[data-chat="${alice.jid}"]`);
          await waitText(page, "#thread", { includes: "Got it, thanks!" });
        }
        if (name === "webhooks") await page.click("button:has-text('Deliveries')");
        expect({ route, violations: await axe(page) }).toEqual({ route, violations: [] });
        await page.screenshot({ path: join(out, `${name}-desktop.png`), fullPage: true });
        await page.setViewportSize(phoneSize);
        expect({ route, phone: true, violations: await axe(page) }).toEqual({ route, phone: true, violations: [] });
        // Usable at phone width: nothing wider than the screen but scrollable tables.
        const overflow = await page.evaluate(() => ((globalThis as any).document.documentElement.scrollWidth - (globalThis as any).innerWidth) as number);
        expect({ route, overflow }).toEqual({ route, overflow: 0 });
        await page.screenshot({ path: join(out, `${name}-phone.png`), fullPage: true });
      }
      expect(page.url()).not.toContain(key);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  }, 240_000);

  it("phone pairing code turns the pairing page working live; settings edit; destructive actions ask first", async () => {
    const { context, page, problems } = await newContext();
    try {
      await signIn(page, key);
      await page.click("#new-session");
      await page.fill('form[aria-label="New session"] input[name="label"]', "Paired by code");
      await page.click('form[aria-label="New session"] button[type="submit"]');
      await waitText(page, "#pair-status", { equals: ["scan_qr_code"] });
      const id = decodeURIComponent(new URL(page.url()).hash.split("/")[2]!);
      // A bad number: the contract's words, naming the field.
      await page.fill('form[aria-label="Pair with a phone number"] input[name="phone"]', "12");
      await page.click("button:has-text('Get a pairing code')");
      await waitText(page, 'form[aria-label="Pair with a phone number"] .error', { includes: "validation_error" });
      const phone = `1558${process.pid % 1000}0002`;
      await page.fill('form[aria-label="Pair with a phone number"] input[name="phone"]', phone);
      await page.click("button:has-text('Get a pairing code')");
      await waitText(page, "#pairing-code", {});
      const code = await text(page, "#pairing-code");
      await sim.enterPairingCode(phone, code.replace("-", ""));
      await waitText(page, "#pair-status", { equals: ["working"] }, 60_000);

      // Settings: the form shows the current values; saving updates the live row.
      await page.click('nav a[href="#/sessions"]');
      const row = `#sessions tr[data-id="${id}"]`;
      await page.click(`${row} button:has-text('Settings')`);
      await page.fill('form[aria-label="Settings of Paired by code"] input[name="label"]', "Renamed line");
      await page.fill('form[aria-label="Settings of Paired by code"] input[name="ratePerHour"]', "500");
      await page.click('form[aria-label="Settings of Paired by code"] button[type="submit"]');
      await waitText(page, row, { includes: "Renamed line" });

      // Delete asks first: "No" keeps the session, "Yes" deletes it and the row goes.
      await page.click(`${row} button:has-text('Delete')`);
      await page.click(`${row} button:has-text('No')`);
      expect(await page.$(row)).not.toBeNull();
      await page.click(`${row} button:has-text('Delete')`);
      await page.click(`${row} button:has-text('Yes, delete')`);
      await page.waitForSelector(row, { state: "detached", timeout: 30_000 });
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  }, 180_000);

  it("a bad key gets a clear message; a read-only key hides write actions; sign-out clears the key", async () => {
    const { context, page, problems } = await newContext();
    try {
      await signIn(page, "wag_" + "x".repeat(43));
      await waitText(page, "#signin-error", {});
      const msg = await text(page, "#signin-error");
      expect(msg).toContain("not accepted");
      expect(msg).toContain("unauthorized");
      expect(await page.evaluate(() => (globalThis as any).sessionStorage.getItem("wa-gateway.console.token") as string | null)).toBeNull();
      expect(await axe(page)).toEqual([]);
      await page.screenshot({ path: join(out, "sign-in-bad-key-desktop.png"), fullPage: true });

      const ro = readKey ?? (await gw.createKey(orgId, ["read"]));
      await signIn(page, ro);
      await page.waitForSelector("#read-only");
      expect(await page.$("#new-session")).toBeNull();
      expect(await text(page, "main")).toContain("can only read");
      for (const p of ["webhooks", "keys"]) {
        await page.evaluate((h) => ((globalThis as any).location.hash = h), `#/${p}`);
        await waitText(page, "main", { includes: "can only read" });
        expect(await page.$("main button.primary")).toBeNull();
        expect(await page.$("main button.danger")).toBeNull();
      }
      await page.evaluate(() => ((globalThis as any).location.hash = "#/gateways"));
      await waitText(page, "#gateways", { includes: "this one" });
      await page.evaluate(() => ((globalThis as any).location.hash = "#/events"));
      await waitText(page, "main", { includes: "recent events" });
      await page.screenshot({ path: join(out, "read-only-desktop.png"), fullPage: true });
      // A reload keeps the key (sessionStorage), sign-out clears it.
      await page.reload();
      await page.waitForSelector("#read-only");
      await page.click("#sign-out");
      await page.waitForSelector("#token");
      expect(await page.evaluate(() => (globalThis as any).sessionStorage.length as number)).toBe(0);
      await page.reload();
      await page.waitForSelector("#token");
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);
});
