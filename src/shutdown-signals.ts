import type { Logger } from "./logger.js";

/** Options of {@link handleShutdownSignals}. */
export interface ShutdownSignalOptions {
  /** The graceful stop (drain, hand-over, close); run once whatever the number of signals. */
  stop: () => Promise<void>;
  log: Logger;
  /**
   * A second SIGINT forces the exit only this long after the first signal. Process managers and `npm start`
   * deliver the same stop several times within milliseconds (the process group's signal, then npm's
   * forwarded copy); those repeats must not cut the drain short. A person pressing Ctrl-C again later means it.
   */
  forceAfterMs?: number;
  /** Exits the process (replaceable in tests). */
  exit?: (code: number) => never;
}

/** Milliseconds after the first signal before a second SIGINT forces the exit. */
export const defaultForceAfterMs = 2_000;

/**
 * Installs SIGTERM/SIGINT handlers for exactly one graceful stop: the first signal starts `stop` and exits 0
 * when it resolves (1 if it fails); repeated signals are logged and ignored, except a SIGINT arriving at least
 * `forceAfterMs` after the first signal, which exits at once with 130. Returns a function removing the handlers.
 */
export function handleShutdownSignals(opts: ShutdownSignalOptions): () => void {
  const { log, forceAfterMs = defaultForceAfterMs } = opts;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let firstAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    const now = Date.now();
    if (firstAt === undefined) {
      firstAt = now;
      log.info({ signal, pid: process.pid }, "shutting down");
      opts.stop().then(
        () => {
          log.info("stopped");
          exit(0);
        },
        (err: unknown) => {
          log.error({ err }, "shutdown failed");
          exit(1);
        },
      );
      return;
    }
    const sinceMs = now - firstAt;
    if (signal === "SIGINT" && sinceMs >= forceAfterMs) {
      log.warn({ signal, sinceMs }, "second interrupt during shutdown, exiting now");
      exit(130);
    }
    log.info(
      { signal, sinceMs, hint: `send SIGINT again ${Math.max(0, forceAfterMs - sinceMs)} ms or more from now to exit without draining` },
      "already shutting down; signal ignored",
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  return () => {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  };
}
