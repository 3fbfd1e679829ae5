import { ensureFirstRunKey, firstRunBanner } from "./bootstrap/first-run.js";
import { createApiKeyRepository } from "./api-keys/api-key-repository.js";
import { ConfigError, loadConfig } from "./config.js";
import { startGateway } from "./gateway.js";
import { createLogger, type Logger } from "./logger.js";
import { handleShutdownSignals } from "./shutdown-signals.js";

/** `npm start`: run the gateway until SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      // No configured logger yet: the line is JSON all the same (the level cannot filter a fatal line).
      createLogger("info").fatal(`invalid configuration: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel, { gatewayId: config.gatewayId });
  startLog = log;
  const started = Date.now();
  const starting = startGateway(config, log);
  // Installed before the start completes: a stop asked for meanwhile waits for it, then drains.
  handleShutdownSignals({ stop: async () => (await starting).stop(), log });
  const gateway = await starting;
  const firstRun = await ensureFirstRunKey(createApiKeyRepository(gateway.db));
  if (firstRun) process.stdout.write(firstRunBanner(firstRun, gateway.url) + "\n");
  log.info({ pid: process.pid, url: gateway.url, database: gateway.databaseKind, startupMs: Date.now() - started }, "ready");

  // A stray rejection (e.g. a socket event during a database outage) is logged, never fatal.
  process.on("unhandledRejection", (err) => log.error({ err }, "unhandled rejection"));
}

/** The configured logger, once the configuration is read. */
let startLog: Logger | undefined;

main().catch((err: unknown) => {
  // Written synchronously (see createLogger): the line is out before the exit.
  (startLog ?? createLogger("info")).fatal({ err }, "failed to start");
  process.exit(1);
});
