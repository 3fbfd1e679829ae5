/** Simulator entry point: start it, then drive the real client against `sim.url`. */
export { startWaSimulator, type ContactOptions, type DeviceInfo, type ScanOptions, type WaSimulator, type WaSimulatorOptions } from './wa-simulator.js';
/** Messaging: simulated contacts, the own phone and what they record. */
export type {
  AccountReceipt,
  ChatstateRecord,
  ClientAck,
  ContactMediaFields,
  ContactReceiptType,
  ContactSendOptions,
  ContactSent,
  DecryptedMessage,
  SimContact,
  SimOwnPhone,
  SimStamp,
  TimelineEntry,
  UndecryptableMessage,
} from './messaging-api.js';
/** The local HTTPS media host and media crypto helpers. */
export { MediaHost, type MediaUpload } from './media-host.js';
export { decryptMedia, encryptMedia, mediaKeys, sha256Hex, type MediaKind, type UploadedMedia } from './media-crypto.js';
export type { FetchDispatcher } from './tls-trust.js';
/** Silences libsignal's session dumps in test output. */
export { quietLibsignal } from './quiet-libsignal.js';
/** Test helpers that open a real Baileys socket against the simulator. */
export { connectClient, trustSimulator, type ClientTimings, type SimClient } from './baileys-client.js';
/** In-memory Baileys auth state for tests. */
export { makeMemoryAuthState } from './memory-auth-state.js';
