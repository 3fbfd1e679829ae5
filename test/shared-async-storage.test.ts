import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { MultiplexedAsyncLocalStorage } from "../src/whatsapp/multiplexed-async-storage.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("..", import.meta.url));

describe("one AsyncLocalStorage shared by every Baileys socket", () => {
  it("keeps each view's value separate across awaits, nesting and exit", async () => {
    const a = new MultiplexedAsyncLocalStorage<string>();
    const b = new MultiplexedAsyncLocalStorage<string>();
    const seen: unknown[] = [];
    await a.run("A", async () => {
      await new Promise((r) => setTimeout(r, 5));
      seen.push([a.getStore(), b.getStore()]);
      await b.run("B", async () => {
        await Promise.resolve();
        seen.push([a.getStore(), b.getStore()]);
        await a.run("A2", async () => seen.push([a.getStore(), b.getStore()]));
        a.exit(() => seen.push([a.getStore(), b.getStore()]));
      });
      seen.push([a.getStore(), b.getStore()]);
    });
    seen.push([a.getStore(), b.getStore()]);
    a.enterWith("E");
    seen.push([a.getStore(), b.getStore()]);
    a.disable();
    seen.push([a.getStore(), b.getStore()]);
    expect(seen).toEqual([
      ["A", undefined],
      ["A", "B"],
      ["A2", "B"],
      [undefined, "B"],
      ["A", undefined],
      [undefined, undefined],
      ["E", undefined],
      [undefined, undefined],
    ]);
  });

  it("Baileys' own `new AsyncLocalStorage()` builds the chosen class through the resolve hook, without touching node:async_hooks", async () => {
    // A fresh process: Baileys must not be loaded before the hook is in place.
    const { stdout } = await run(process.execPath, ["--import", "tsx", "test/support/baileys-storage-probe.ts"], { cwd: root, timeout: 60_000 });
    const probe = JSON.parse(stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
    const major = Number(process.versions.node.split(".")[0]);
    expect(probe).toEqual({
      node: process.versions.node,
      asyncContextFrame: major >= 24,
      // Multiplexed by default only where AsyncContextFrame is missing.
      autoMultiplexes: major < 24,
      // Two key stores (two sockets) per run: both built as the chosen class when on, neither when off.
      builtWhenOn: 2,
      builtWhenOff: 0,
      multiplexedWorks: true,
      realWorks: true,
      nodeClassUntouched: true,
    });
  });

  it("src/ takes Baileys' runtime values only from src/whatsapp/baileys.ts (a static import elsewhere would load Baileys before the hook)", () => {
    const src = join(root, "src");
    const offenders = (readdirSync(src, { recursive: true }) as string[])
      .filter((f) => f.endsWith(".ts") && f !== join("whatsapp", "baileys.ts"))
      .filter((f) => /^\s*import\s+(?!type\b)[^;]*?from\s+["']@whiskeysockets\/baileys["']/m.test(readFileSync(join(src, f), "utf8")));
    expect(offenders).toEqual([]);
  });
});
