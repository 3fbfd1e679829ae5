/** Simulator entry point: start it, then drive the real client against `sim.url`. */
export { startWaSimulator, type DeviceInfo, type ScanOptions, type WaSimulator, type WaSimulatorOptions } from './wa-simulator.js';
/** Test helpers that open a real Baileys socket against the simulator. */
export { connectClient, trustSimulator, type ClientTimings, type SimClient } from './baileys-client.js';
/** In-memory Baileys auth state for tests. */
export { makeMemoryAuthState } from './memory-auth-state.js';
