import type { Config } from "../config.js";
import type { MessageRow } from "../db/schema.js";

/** The typing settings of the gateway. */
export type TypingSettings = Pick<Config["sending"], "typingMinMs" | "typingMsPerChar" | "typingMaxMs">;

/** The text a person would type for a message: its body or caption (empty for other kinds). */
export function typedText(row: Pick<MessageRow, "type" | "content">): string {
  const c = row.content as Record<string, Record<string, unknown> | undefined>;
  const part = c[row.type];
  if (!part) return "";
  const text = row.type === "text" ? part.body : part.caption;
  return typeof text === "string" ? text : "";
}

/**
 * Whether a message is preceded by typing: everything a person composes
 * (text, media, location, contact card), not reactions or revokes.
 */
export function typesBefore(row: Pick<MessageRow, "type">): boolean {
  return row.type !== "reaction" && row.type !== "revoke";
}

/** How long `composing` is shown before a message: grows with the text's length, bounded. */
export function typingMs(row: Pick<MessageRow, "type" | "content">, s: TypingSettings): number {
  const chars = [...typedText(row)].length;
  return Math.min(s.typingMaxMs, s.typingMinMs + chars * s.typingMsPerChar);
}
