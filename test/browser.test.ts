import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBrowserExample } from "../examples/browser/build.js";
import { backends } from "./support/backends.js";
import { repoRoot } from "./support/gateway-process.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";
import { startWaSimulator, type WaSimulator } from "./wa-sim/index.js";

const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const haveChromium = existsSync(chromiumPath);
if (!haveChromium) {
  console.warn(`browser example test SKIPPED: no Chromium at ${chromiumPath} (apt-get install chromium; .ci/run does it where it can)`);
}

/** Serves `dir` on loopback: the page's origin, different from the gateway's. */
async function serveStatic(dir: string): Promise<{ url: string; server: Server }> {
  const types: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".map": "application/json" };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const file = join(dir, path === "/" ? "index.html" : path.slice(1));
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader("content-type", types[extname(file)] ?? "application/octet-stream");
    res.end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe.skipIf(!haveChromium)("browser example (connect-web) in headless Chromium", () => {
  let sim: WaSimulator;
  let gw: TestGateway;
  let site: { url: string; server: Server };
  let browser: BrowserContext;
  let dir: string;
  let profile: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "wagw-browser-"));
    profile = mkdtempSync(join(tmpdir(), "wagw-chromium-"));
    await buildBrowserExample(dir);
    site = await serveStatic(dir);
    sim = await startWaSimulator({ qrRefs: 6 });
    gw = await startTestGateway(backends[0]!, {
      CORS_ORIGINS: site.url,
      WA_WEBSOCKET_URL: sim.url,
      WA_ROOT_PUBLIC_KEY: Buffer.from(sim.rootPublicKey).toString("base64"),
      WA_CONNECT_TIMEOUT_MS: "5000",
      WA_QR_TIMEOUT_MS: "1500", // rotate quickly: the page must redraw
    });
    // A fresh profile directory (--user-data-dir) per run.
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await sim?.close();
    await new Promise((r) => site?.server.close(r));
    rmSync(dir, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  });

  it("lists, creates, shows the QR as it changes and live events, and reaches working after the scan", async () => {
    const token = await gw.createKey(gw.newOrgId(), ["manage", "read"]);
    const page = await browser.newPage();
    const failures: string[] = [];
    page.on("pageerror", (e) => failures.push(String(e)));
    await page.goto(`${site.url}/index.html?gateway=${encodeURIComponent(gw.url)}&token=${encodeURIComponent(token)}`);
    await page.click("#create");
    // The page draws the QR on a canvas and keeps the raw ref it drew in data-qr.
    const qr = await page.waitForFunction(`document.querySelector("#qr")?.dataset.qr`, undefined, { timeout: 30_000 });
    const first = (await qr.jsonValue()) as string;
    // The QR rotates: the page redraws it from the auth.qr events.
    const rotated = await page.waitForFunction(`(() => { const q = document.querySelector("#qr")?.dataset.qr; return q && q !== ${JSON.stringify(first)} ? q : undefined; })()`, undefined, { timeout: 30_000 });
    const ref = (await rotated.jsonValue()) as string;
    const id = await page.textContent("#current");
    expect(ref).toMatch(/,/);
    // Page code as strings: this file is type-checked without the DOM library.
    const drawn = await page.evaluate<number>(`(() => {
      const c = document.querySelector("#qr");
      const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let dark = 0;
      for (let i = 0; i < px.length; i += 4) if (px[i] < 128) dark++;
      return dark;
    })()`);
    expect(drawn).toBeGreaterThan(1000);

    await sim.scanQr(ref, { phoneNumber: "15550009876" });
    await page.waitForFunction(`document.querySelector("#status")?.textContent === "working"`, undefined, { timeout: 30_000 });
    await page.waitForFunction(`document.querySelector('#sessions li[data-id="${id}"]')?.textContent?.includes("working")`, undefined, { timeout: 10_000 });
    const events = await page.textContent("#events");
    expect(events).toContain("session.created");
    expect(events).toContain("auth.qr");
    expect(events).toContain("auth.paired");
    expect(await page.textContent("#error")).toBe("");
    expect(failures).toEqual([]);
    mkdirSync(join(repoRoot, "test-output"), { recursive: true });
    await page.screenshot({ path: join(repoRoot, "test-output", "browser-example.png"), fullPage: true });
  }, 90_000);
});
