import type { Logger, LogLevel } from "../logger.js";

/** The logger Baileys takes (its `ILogger`: pino's shape). */
export interface BaileysLogger {
  level: string;
  child(bindings: Record<string, unknown>): BaileysLogger;
  trace(obj: unknown, msg?: string, ...args: unknown[]): void;
  debug(obj: unknown, msg?: string, ...args: unknown[]): void;
  info(obj: unknown, msg?: string, ...args: unknown[]): void;
  warn(obj: unknown, msg?: string, ...args: unknown[]): void;
  error(obj: unknown, msg?: string, ...args: unknown[]): void;
}

/** One session's Baileys logger, with the summaries of its collapsed warnings still to write. */
export interface SessionBaileysLogger extends BaileysLogger {
  /** Writes the summary of every window still open (when the session stops: no count is lost). */
  flush(): void;
}

/** Options of {@link baileysLogger}. */
export interface BaileysLoggerOptions {
  /** Lowest level written (`WA_LOG_LEVEL`); never below the level of the logger it writes into. */
  level: LogLevel;
  /** A warning or error repeated within this window is written once, then counted. Default 60 s. */
  collapseWindowMs?: number;
}

/** `msg` of the line that says how often a warning or error was repeated. */
export const repeatedLinesMsg = "repeated lines suppressed";

/** The default collapse window. */
export const defaultCollapseWindowMs = 60_000;

type Collapsed = "warn" | "error";

/**
 * Baileys' logs routed into ours for one session: lines go to `log.child({ component: "baileys" })` (so they
 * carry the session's bindings) at `level`, and a warning or error repeated within the window is written
 * once, then counted: when the window closes, one line ({@link repeatedLinesMsg}) gives the count, and a
 * window that saw repeats stays open for the next ones — a message repeating forever costs one line per
 * window. Baileys' error for the 515 stream error ("restart required", after every pairing) is routine: it
 * is written at debug.
 */
export function baileysLogger(log: Logger, opts: BaileysLoggerOptions): SessionBaileysLogger {
  const values = log.levels.values;
  const level = (values[opts.level] ?? 0) >= (values[log.level] ?? 0) ? opts.level : log.level;
  const target = log.child({ component: "baileys" }, { level });
  const windows = new RepeatWindows(opts.collapseWindowMs ?? defaultCollapseWindowMs, (lvl, fields) =>
    target[lvl](fields, repeatedLinesMsg),
  );
  const root = new RoutedLogger(target, windows);
  return Object.assign(root, { flush: () => windows.flush() });
}

/** A Baileys logger (or one of the children Baileys makes) over a pino child, sharing the session's windows. */
class RoutedLogger implements BaileysLogger {
  constructor(
    private readonly target: Logger,
    private readonly windows: RepeatWindows,
  ) {}

  get level(): string {
    return this.target.level;
  }

  set level(value: string) {
    this.target.level = value;
  }

  child(bindings: Record<string, unknown>): BaileysLogger {
    return new RoutedLogger(this.target.child(bindings), this.windows);
  }

  trace(...args: [unknown, string?, ...unknown[]]): void {
    this.write("trace", args);
  }

  debug(...args: [unknown, string?, ...unknown[]]): void {
    this.write("debug", args);
  }

  info(...args: [unknown, string?, ...unknown[]]): void {
    this.write("info", args);
  }

  warn(...args: [unknown, string?, ...unknown[]]): void {
    this.write("warn", args);
  }

  error(...args: [unknown, string?, ...unknown[]]): void {
    if (isRestartRequired(args[0])) return this.write("debug", args);
    this.write("error", args);
  }

  private write(level: "trace" | "debug" | "info" | Collapsed, args: [unknown, string?, ...unknown[]]): void {
    if (!this.target.isLevelEnabled(level)) return;
    if (level === "warn" || level === "error") {
      const [obj, msg] = args;
      const text = typeof msg === "string" ? msg : typeof obj === "string" ? obj : undefined;
      if (text !== undefined && !this.windows.admit(level, text)) return;
    }
    (this.target[level] as (...a: unknown[]) => void).apply(this.target, args);
  }
}

/** The stream error 515 ("restart required") Baileys logs at error level after each pairing. */
function isRestartRequired(obj: unknown): boolean {
  const node = (obj as { fullErrorNode?: { attrs?: { code?: unknown } } } | null)?.fullErrorNode;
  return node?.attrs?.code === "515";
}

/** Per message and level: the window in which repeats are counted instead of written. */
class RepeatWindows {
  private readonly open = new Map<string, { level: Collapsed; msg: string; suppressed: number; timer: NodeJS.Timeout }>();

  constructor(
    private readonly windowMs: number,
    private readonly summarize: (level: Collapsed, fields: { repeated: string; suppressed: number; windowMs: number }) => void,
  ) {}

  /** True when the line is to be written: the first of its window; a repeat is counted instead. */
  admit(level: Collapsed, msg: string): boolean {
    const key = `${level} ${msg}`;
    const w = this.open.get(key);
    if (w) {
      w.suppressed++;
      return false;
    }
    this.open.set(key, { level, msg, suppressed: 0, timer: this.arm(key) });
    return true;
  }

  /** Writes the summary of every open window that counted repeats, and closes them all. */
  flush(): void {
    for (const w of this.open.values()) {
      clearTimeout(w.timer);
      this.report(w);
    }
    this.open.clear();
  }

  private arm(key: string): NodeJS.Timeout {
    const timer = setTimeout(() => this.close(key), this.windowMs);
    timer.unref();
    return timer;
  }

  /** A window ends: quiet, it closes; with repeats, their summary is written and a new window counts on. */
  private close(key: string): void {
    const w = this.open.get(key);
    if (!w) return;
    if (w.suppressed === 0) {
      this.open.delete(key);
      return;
    }
    this.report(w);
    w.suppressed = 0;
    w.timer = this.arm(key);
  }

  private report(w: { level: Collapsed; msg: string; suppressed: number }): void {
    if (w.suppressed > 0) this.summarize(w.level, { repeated: w.msg, suppressed: w.suppressed, windowMs: this.windowMs });
  }
}
