import { pino, type Logger as PinoLogger } from "pino";
import type { Logger } from "../logger.js";

/** A pino logger (what Baileys wants) whose lines go into our logger at `level` and above. */
export function baileysLogger(log: Logger, level: "debug" | "info" | "warn" | "error"): PinoLogger {
  const destination = {
    write(line: string) {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        log.warn("baileys", { line });
        return;
      }
      const { level: n, msg, time: _t, pid: _p, hostname: _h, ...fields } = entry;
      const text = typeof msg === "string" ? msg : "baileys";
      let num = typeof n === "number" ? n : 30;
      // Baileys logs every stream error at error level, including the 515
      // "restart required" that follows each pairing: that one is routine.
      const node = fields.fullErrorNode as { attrs?: { code?: string } } | undefined;
      if (node?.attrs?.code === "515") num = 20;
      const target = num >= 50 ? log.error : num >= 40 ? log.warn : num >= 30 ? log.info : log.debug;
      target(`baileys: ${text}`, fields);
    },
  };
  return pino({ level }, destination);
}
