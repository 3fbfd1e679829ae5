import nodeModule from "node:module";
import { MultiplexedAsyncLocalStorage } from "./multiplexed-async-storage.js";

/**
 * Baileys (7.0.0-rc14, `addTransactionCapability`) creates a new
 * `AsyncLocalStorage` for every socket it opens and never disables it. Before
 * AsyncContextFrame (Node 24's default) every enabled storage is visited on
 * every promise the process creates, so each promise costs O(sockets ever
 * opened): at ~500 sessions on Node 20 a CPU profile showed 47 % of the
 * gateway's time in `async_hooks` propagation.
 *
 * The fix writes to no Node built-in: a module resolve hook (Node's documented
 * customization API) points Baileys' own `import … from "async_hooks"` at a
 * small module that re-exports `node:async_hooks` with one change: its
 * `AsyncLocalStorage` builds whatever class {@link shareBaileysAsyncStorage}
 * chose — the multiplexed view, or the real class. Only modules inside the
 * Baileys package see it.
 */

/** Where the replacement module finds the class chosen for Baileys' storages. */
const choiceKey = Symbol.for("wa-gateway.baileys-async-local-storage");

const replacementSource = `
import asyncHooks from "node:async_hooks";
export * from "node:async_hooks";
export default asyncHooks;
const Real = asyncHooks.AsyncLocalStorage;
const choice = Symbol.for(${JSON.stringify(choiceKey.description)});
export function AsyncLocalStorage(...args) {
  const Chosen = globalThis[choice] ?? Real;
  return new Chosen(...args);
}
Object.setPrototypeOf(AsyncLocalStorage, Real);
`;

const hooksSource = `
const replacement = ${JSON.stringify(dataUrl(replacementSource))};
export function resolve(specifier, context, nextResolve) {
  if ((specifier === "async_hooks" || specifier === "node:async_hooks")
      && typeof context.parentURL === "string"
      && context.parentURL.includes("/node_modules/@whiskeysockets/baileys/")) {
    return { url: replacement, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}
`;

function dataUrl(source: string): string {
  return `data:text/javascript,${encodeURIComponent(source)}`;
}

/** How Baileys' storages are built: multiplexed (`on`), real (`off`), or `auto` (multiplexed unless the runtime has AsyncContextFrame). */
export type AsyncStorageSharing = "auto" | "on" | "off";

/**
 * True when this runtime propagates async context with AsyncContextFrame
 * (Node ≥ 24 unless `--no-async-context-frame`; Node 22 with
 * `--experimental-async-context-frame`), where many storages cost nothing per
 * promise.
 */
export function hasAsyncContextFrame(): boolean {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)];
  if (flags.includes("--no-async-context-frame")) return false;
  if (flags.includes("--experimental-async-context-frame")) return true;
  return Number(process.versions.node.split(".")[0]) >= 24;
}

const installedKey = Symbol.for("wa-gateway.baileys-async-storage-hook");

/**
 * Installs the resolve hook, once per process. It must run before Baileys is
 * first imported (see `baileys.ts`); a Baileys loaded earlier keeps Node's class.
 */
export async function installBaileysStorageRedirect(): Promise<void> {
  const global = globalThis as Record<symbol, unknown>;
  if (global[installedKey]) return;
  global[installedKey] = true;
  if (global[choiceKey] === undefined) shareBaileysAsyncStorage("auto");
  const api = nodeModule as typeof nodeModule & { registerHooks?: (hooks: { resolve: unknown }) => unknown };
  if (typeof api.registerHooks === "function") {
    // Node ≥ 22.15: synchronous hooks on this thread.
    const hooks = (await import(dataUrl(hooksSource))) as { resolve: unknown };
    api.registerHooks({ resolve: hooks.resolve });
  } else {
    // Node 20: the off-thread loader API.
    nodeModule.register(dataUrl(hooksSource));
  }
}

/**
 * Chooses the class of every storage Baileys creates from now on; answers
 * whether they are multiplexed.
 */
export function shareBaileysAsyncStorage(mode: AsyncStorageSharing): boolean {
  const on = mode === "on" || (mode === "auto" && !hasAsyncContextFrame());
  (globalThis as Record<symbol, unknown>)[choiceKey] = on ? MultiplexedAsyncLocalStorage : null;
  return on;
}
