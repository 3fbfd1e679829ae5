import { ConnectError } from "@connectrpc/connect";
import { ensureFirstRunKey, firstRunBanner } from "./bootstrap/first-run.js";
import { createApiKeyRepository } from "./api-keys/api-key-repository.js";
import { ConfigError, loadConfig } from "./config.js";
import { startGateway } from "./gateway.js";
import { createLogger } from "./logger.js";
import { handleShutdownSignals } from "./shutdown-signals.js";

/** `npm start`: run the gateway until SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`wa-gateway: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel, { gatewayId: config.gatewayId });
  const started = Date.now();
  const starting = startGateway(config, log);
  // Installed before the start completes: a stop asked for meanwhile waits for it, then drains.
  handleShutdownSignals({ stop: async () => (await starting).stop(), log });
  const gateway = await starting;
  const firstRun = await ensureFirstRunKey(createApiKeyRepository(gateway.db));
  if (firstRun) process.stdout.write(firstRunBanner(firstRun, gateway.url) + "\n");
  log.info("ready", { pid: process.pid, url: gateway.url, database: gateway.databaseKind, startupMs: Date.now() - started });

  // A stray rejection (e.g. a socket event during a database outage) is logged, never fatal.
  process.on("unhandledRejection", (err) => log.error("unhandled rejection", { err }));
}

main().catch((err: unknown) => {
  const text = err instanceof ConnectError ? err.rawMessage : err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`wa-gateway failed to start: ${text}\n`);
  process.exit(1);
});
