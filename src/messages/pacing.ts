import type { Config } from "../config.js";

/** The pacing settings of the gateway (`Config["sending"]`). */
export type PacingSettings = Pick<Config["sending"], "minuteMs" | "hourMs" | "windowMarginMs" | "jitterMinMs" | "jitterMaxMs" | "rampMs" | "rampStartPercent">;

/** A session's rates, as its row has them now. */
export interface Rates {
  perMin: number;
  perHour: number;
}

/** A random pause between two sends, within the configured bounds. */
export function jitter(s: PacingSettings, random: () => number = Math.random): number {
  return Math.round(s.jitterMinMs + (s.jitterMaxMs - s.jitterMinMs) * random());
}

/**
 * The earliest time (epoch ms) the next message may go out.
 *
 * `sent` are the times of the session's sends in the last hour window,
 * ascending (what was actually sent, read from the database on every
 * (re)connect and take-over, so the budget survives both). At most
 * `perMin` sends fall in any window of `minuteMs` and at most `perHour` in
 * any window of `hourMs`: the next one waits until the oldest send that
 * would make one too many has left the window (plus the settings' `windowMarginMs`). It also waits `gapMs` (the
 * jitter) after the last send and, during the ramp after `rampFrom`, the
 * interval of the ramped rate (from `rampStartPercent` % of `perMin`,
 * climbing linearly to the full rate over `rampMs`).
 */
export function nextSendAt(sent: readonly number[], rates: Rates, s: PacingSettings, now: number, gapMs: number, rampFrom?: number): number {
  let at = now;
  const n = sent.length;
  if (n === 0) return at;
  const last = sent[n - 1]!;
  if (n >= rates.perMin) at = Math.max(at, sent[n - rates.perMin]! + s.minuteMs + s.windowMarginMs);
  if (n >= rates.perHour) at = Math.max(at, sent[n - rates.perHour]! + s.hourMs + s.windowMarginMs);
  at = Math.max(at, last + gapMs);
  if (rampFrom !== undefined && s.rampMs > 0) {
    const elapsed = Math.max(0, Math.max(at, now) - rampFrom);
    if (elapsed < s.rampMs) {
      const start = s.rampStartPercent / 100;
      const share = start + (1 - start) * (elapsed / s.rampMs);
      at = Math.max(at, last + Math.ceil(s.minuteMs / (rates.perMin * share)));
    }
  }
  return at;
}

/**
 * When each of the next `count` messages is expected to go (epoch ms),
 * assuming each waits the smallest jitter: the `notBefore` shown on
 * queued messages.
 */
export function schedule(sent: readonly number[], rates: Rates, s: PacingSettings, now: number, count: number, rampFrom?: number): number[] {
  const times = [...sent];
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const at = nextSendAt(times, rates, s, now, s.jitterMinMs, rampFrom);
    out.push(at);
    times.push(at);
  }
  return out;
}

/** Drops the send times that have left the hour window. */
export function trimWindow(sent: number[], s: PacingSettings, now: number): void {
  const from = now - s.hourMs;
  let i = 0;
  while (i < sent.length && sent[i]! < from) i++;
  if (i > 0) sent.splice(0, i);
}
