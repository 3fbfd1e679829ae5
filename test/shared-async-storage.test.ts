import { AsyncLocalStorage } from "node:async_hooks";
import { addTransactionCapability } from "@whiskeysockets/baileys";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { withSharedAsyncStorage } from "../src/whatsapp/shared-async-storage.js";

describe("one AsyncLocalStorage shared by every Baileys socket", () => {
  it("keeps each storage's value separate across awaits, and replaces the class only inside the factory", async () => {
    const a = withSharedAsyncStorage(() => new AsyncLocalStorage<string>());
    const b = withSharedAsyncStorage(() => new AsyncLocalStorage<string>());
    expect(a).not.toBeInstanceOf(AsyncLocalStorage);
    expect(new AsyncLocalStorage()).toBeInstanceOf(AsyncLocalStorage);
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
    expect(seen).toEqual([
      ["A", undefined],
      ["A", "B"],
      ["A2", "B"],
      [undefined, "B"],
      ["A", undefined],
      [undefined, undefined],
    ]);
  });

  it("Baileys' key-store transactions work on it: reads inside see the transaction's writes, commit writes once", async () => {
    const data = new Map<string, unknown>();
    const writes: unknown[] = [];
    const store = {
      get: async (type: string, ids: string[]) => Object.fromEntries(ids.filter((id) => data.has(`${type}:${id}`)).map((id) => [id, data.get(`${type}:${id}`)])),
      set: async (batch: Record<string, Record<string, unknown>>) => {
        writes.push(batch);
        for (const [type, entries] of Object.entries(batch)) for (const [id, v] of Object.entries(entries)) data.set(`${type}:${id}`, v);
      },
    };
    const keys = withSharedAsyncStorage(() => addTransactionCapability(store as never, pino({ level: "silent" }) as never, { maxCommitRetries: 1, delayBetweenTriesMs: 1 }));
    const other = withSharedAsyncStorage(() => addTransactionCapability(store as never, pino({ level: "silent" }) as never, { maxCommitRetries: 1, delayBetweenTriesMs: 1 }));
    await keys.transaction(async () => {
      await keys.set({ session: { x: Buffer.from([1]) } } as never);
      expect(await keys.get("session" as never, ["x"])).toEqual({ x: Buffer.from([1]) });
      // Another socket's store is not inside this transaction: it reads the database.
      expect(await other.get("session" as never, ["x"])).toEqual({});
      expect(writes).toHaveLength(0);
    }, "t");
    expect(writes).toHaveLength(1);
    expect(await other.get("session" as never, ["x"])).toEqual({ x: Buffer.from([1]) });
  });
});
