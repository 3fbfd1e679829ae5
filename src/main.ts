import { ConnectError } from "@connectrpc/connect";
import { ensureFirstRunKey, firstRunBanner } from "./bootstrap/first-run.js";
import { createApiKeyRepository } from "./api-keys/api-key-repository.js";
import { ConfigError, loadConfig } from "./config.js";
import { startGateway } from "./gateway.js";
import { createLogger } from "./logger.js";

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
  const gateway = await startGateway(config, log);
  const firstRun = await ensureFirstRunKey(createApiKeyRepository(gateway.db));
  if (firstRun) process.stdout.write(firstRunBanner(firstRun, gateway.url) + "\n");
  log.info("ready", { url: gateway.url, database: gateway.databaseKind, startupMs: Date.now() - started });

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      log.warn("second signal, exiting now", { signal });
      process.exit(1);
    }
    log.info("shutting down", { signal });
    gateway.stop().then(
      () => {
        log.info("stopped");
        process.exit(0);
      },
      (err: unknown) => {
        log.error("shutdown failed", { err });
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  // A stray rejection (e.g. a socket event during a database outage) is logged, never fatal.
  process.on("unhandledRejection", (err) => log.error("unhandled rejection", { err }));
}

main().catch((err: unknown) => {
  const text = err instanceof ConnectError ? err.rawMessage : err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`wa-gateway failed to start: ${text}\n`);
  process.exit(1);
});
