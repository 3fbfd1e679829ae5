/** One JSON log line of the gateway (pino: `level`, `time`, bindings, fields, then `msg`). */
export type LogLine = Record<string, unknown> & { level?: string; time?: string; msg?: string };

/**
 * The complete lines of `text` (e.g. a process's stderr so far) that are JSON objects, parsed, in order. A
 * last line without its newline yet is left out (it may be cut mid-object); other lines are skipped.
 */
export function logLines(text: string): LogLine[] {
  const out: LogLine[] = [];
  const complete = text.slice(0, text.lastIndexOf("\n") + 1);
  for (const line of complete.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const value = JSON.parse(line) as unknown;
      if (value !== null && typeof value === "object" && !Array.isArray(value)) out.push(value as LogLine);
    } catch {
      // not a JSON line (e.g. npm's own output)
    }
  }
  return out;
}

/** The lines of `text` whose `msg` is `msg`. */
export function logsWithMsg(text: string, msg: string): LogLine[] {
  return logLines(text).filter((l) => l.msg === msg);
}

/** The first line of `text` whose `msg` is `msg`, or undefined. */
export function findLog(text: string, msg: string): LogLine | undefined {
  return logLines(text).find((l) => l.msg === msg);
}

/** The gateway's `ready` line in `text`, once written: its `url` and `pid` (and the rest of its fields). */
export function readyLine(text: string): (LogLine & { url: string; pid: number }) | undefined {
  const line = findLog(text, "ready");
  return line && typeof line.url === "string" ? (line as LogLine & { url: string; pid: number }) : undefined;
}

/** The ready line as a match (`[msg, url]`), for waiters written for patterns (the benches' `startChild`). */
export function readyUrlMatch(text: string): [string, string] | undefined {
  const line = readyLine(text);
  return line && ["ready", line.url];
}
