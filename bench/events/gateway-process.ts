import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApiKeyRepository } from "../../src/api-keys/api-key-repository.js";
import { loadConfig } from "../../src/config.js";
import { startGateway } from "../../src/gateway.js";
import { createLogger } from "../../src/logger.js";

/**
 * The measured gateway of `npm run bench:events`, in a process of its own:
 * starts on DATABASE_URL (or PGlite), creates a read and a manage key for
 * one organization, and prints `{"url","read","manage"}` on stdout.
 */
const dataDir = mkdtempSync(join(tmpdir(), "wagw-evbench-"));
const config = loadConfig({
  ...process.env,
  PORT: "0",
  HOST: "127.0.0.1",
  DATA_DIR: dataDir,
  LOG_LEVEL: "error",
  EVENTS_MAX_STREAMS_PER_ORG: "0",
  EVENTS_MAX_STREAMS_PER_CREDENTIAL: "0",
  WA_WEBSOCKET_URL: "ws://127.0.0.1:9/ws/chat",
});
const gw = await startGateway(config, createLogger("error"));
const keys = createApiKeyRepository(gw.db);
const org = "org_bench";
const read = (await keys.create({ organizationId: org, name: "bench read", permissions: ["read"] })).secret;
const manage = (await keys.create({ organizationId: org, name: "bench manage", permissions: ["manage"] })).secret;
process.stdout.write(`${JSON.stringify({ url: gw.url, read, manage })}\n`);
process.on("uncaughtException", (err) => {
  process.stderr.write(`gateway process: uncaught ${String(err instanceof Error ? err.stack : err)}\n`);
  process.exit(70);
});
process.on("exit", (code) => {
  if (code !== 0) process.stderr.write(`gateway process exiting ${code}; rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB\n`);
});
process.on("SIGTERM", () => void gw.stop().then(() => process.exit(0)));
