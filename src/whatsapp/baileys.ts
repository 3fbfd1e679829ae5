import type * as BaileysModule from "@whiskeysockets/baileys";
import { installBaileysStorageRedirect } from "./baileys-async-storage.js";

/**
 * The one door to Baileys' runtime values. Baileys is imported here, after the
 * async-storage redirect is installed (see `baileys-async-storage.ts`);
 * elsewhere in `src/` only `import type` from the package is allowed, or the
 * package would load before the redirect.
 */
await installBaileysStorageRedirect();
const baileys: typeof BaileysModule = await import("@whiskeysockets/baileys");

/** Baileys' socket factory. */
export const makeWASocket = baileys.default;
/** Baileys' values used by the engine and the messages domain. */
export const {
  BufferJSON,
  DisconnectReason,
  USyncQuery,
  USyncUser,
  WA_CERT_DETAILS,
  downloadContentFromMessage,
  generateMessageIDV2,
  initAuthCreds,
  normalizeMessageContent,
} = baileys;
/** WhatsApp's protobuf classes (the `proto` value; its types: `import type { proto } from "@whiskeysockets/baileys"`). */
export const WAProto = baileys.proto;
