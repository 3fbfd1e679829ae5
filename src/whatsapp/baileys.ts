import type * as BaileysModule from "@whiskeysockets/baileys";
import { installBaileysStorageRedirect } from "./baileys-async-storage.js";

/** Baileys' module: its runtime values (`makeWASocket` is `default`; WhatsApp's protobuf classes are `proto`). */
export type Baileys = typeof BaileysModule;

let loaded: Baileys | undefined;
let loading: Promise<Baileys> | undefined;

/**
 * The one door to Baileys' runtime values, opened on first use: Baileys is
 * imported here, after the async-storage redirect is installed (see
 * `baileys-async-storage.ts`); elsewhere in `src/` only `import type` from the
 * package is allowed, or the package would load before the redirect. Loading
 * costs about a second of CPU and tens of MiB, so a gateway pays it with the
 * first session it runs (or the first call that needs Baileys), not at start.
 */
export function loadBaileys(): Promise<Baileys> {
  return (loading ??= (async () => {
    await installBaileysStorageRedirect();
    loaded = await import("@whiskeysockets/baileys");
    return loaded;
  })());
}

/**
 * Baileys, for synchronous code on paths where it is loaded already (a socket
 * exists, or the caller awaited {@link loadBaileys}); throws otherwise.
 */
export function baileys(): Baileys {
  if (!loaded) throw new Error("Baileys is not loaded yet: await loadBaileys() on this path first");
  return loaded;
}
