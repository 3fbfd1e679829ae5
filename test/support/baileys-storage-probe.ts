// Run in a fresh process (Baileys not yet loaded): loads Baileys through the
// engine's door, then reports what Baileys' `new AsyncLocalStorage()` built in
// each mode and whether its key-store transactions work on it. Prints JSON.
import { AsyncLocalStorage } from "node:async_hooks";
import pino from "pino";
import { hasAsyncContextFrame, shareBaileysAsyncStorage } from "../../src/whatsapp/baileys-async-storage.js";
import { loadBaileys } from "../../src/whatsapp/baileys.js";
import { MultiplexedAsyncLocalStorage } from "../../src/whatsapp/multiplexed-async-storage.js";

const { addTransactionCapability } = await loadBaileys();

let built = 0;
class CountingStorage<T> extends MultiplexedAsyncLocalStorage<T> {
  constructor() {
    super();
    built++;
  }
}
const choice = Symbol.for("wa-gateway.baileys-async-local-storage");
const silent = pino({ level: "silent" });

/** A Baileys key store over a Map, recording each committed batch. */
function keyStore(data: Map<string, unknown>, writes: unknown[]) {
  const store = {
    get: async (type: string, ids: string[]) => Object.fromEntries(ids.filter((id) => data.has(`${type}:${id}`)).map((id) => [id, data.get(`${type}:${id}`)])),
    set: async (batch: Record<string, Record<string, unknown>>) => {
      writes.push(batch);
      for (const [type, entries] of Object.entries(batch)) for (const [id, v] of Object.entries(entries)) data.set(`${type}:${id}`, v);
    },
  };
  return addTransactionCapability(store as never, silent as never, { maxCommitRetries: 1, delayBetweenTriesMs: 1 });
}

// A transaction on one socket's store: reads inside see its writes, another
// socket's store does not, and the commit writes once.
async function transactionWorks(): Promise<boolean> {
  const data = new Map<string, unknown>();
  const writes: unknown[] = [];
  const keys = keyStore(data, writes);
  const other = keyStore(data, writes);
  let inside = false;
  await keys.transaction(async () => {
    await keys.set({ session: { x: Buffer.from([1]) } } as never);
    const mine = (await keys.get("session" as never, ["x"])) as Record<string, Buffer>;
    const theirs = await other.get("session" as never, ["x"]);
    inside = mine.x?.equals(Buffer.from([1])) === true && Object.keys(theirs).length === 0 && writes.length === 0;
  }, "t");
  const after = (await other.get("session" as never, ["x"])) as Record<string, Buffer>;
  return inside && writes.length === 1 && after.x?.equals(Buffer.from([1])) === true;
}

const auto = shareBaileysAsyncStorage("auto");
(globalThis as Record<symbol, unknown>)[choice] = CountingStorage;
const multiplexedWorks = await transactionWorks();
const builtWhenOn = built;
shareBaileysAsyncStorage("off");
const realWorks = await transactionWorks();
const builtWhenOff = built - builtWhenOn;
process.stdout.write(JSON.stringify({
  node: process.versions.node,
  asyncContextFrame: hasAsyncContextFrame(),
  autoMultiplexes: auto,
  builtWhenOn,
  builtWhenOff,
  multiplexedWorks,
  realWorks,
  nodeClassUntouched: new AsyncLocalStorage() instanceof AsyncLocalStorage && !(new AsyncLocalStorage() instanceof MultiplexedAsyncLocalStorage),
}) + "\n");
