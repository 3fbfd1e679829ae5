import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { nextSendAt, schedule } from "../src/messages/pacing.js";
import { endTimeOf } from "../src/messages/restrictions.js";
import { typingMs } from "../src/messages/typing.js";

const windowMarginMs = 250;
const s = { minuteMs: 60_000, hourMs: 3_600_000, windowMarginMs, jitterMinMs: 0, jitterMaxMs: 0, rampMs: 0, rampStartPercent: 25 };

describe("pacing", () => {
  it("the minute window: the next send waits until the send that would make one too many has left it", () => {
    const now = 100_000;
    expect(nextSendAt([], { perMin: 2, perHour: 100 }, s, now, 0)).toBe(now);
    expect(nextSendAt([now - 1000], { perMin: 2, perHour: 100 }, s, now, 0)).toBe(now);
    expect(nextSendAt([now - 1000, now - 500], { perMin: 2, perHour: 100 }, s, now, 0)).toBe(now - 1000 + 60_000 + windowMarginMs);
    // A send that left the window frees its slot.
    expect(nextSendAt([now - 70_000, now - 500], { perMin: 2, perHour: 100 }, s, now, 0)).toBe(now);
  });

  it("the hour window, the jitter gap and the ramp", () => {
    const now = 10_000_000;
    const sent = [now - 3_000_000, now - 2_000_000, now - 1_000_000];
    expect(nextSendAt(sent, { perMin: 100, perHour: 3 }, s, now, 0)).toBe(now - 3_000_000 + 3_600_000 + windowMarginMs);
    expect(nextSendAt([now - 100], { perMin: 100, perHour: 100 }, s, now, 2_000)).toBe(now - 100 + 2_000);
    // Right after a connect, 25 % of 60/min: one per 4 s; at the end of the ramp, the full rate.
    const ramp = { ...s, rampMs: 60_000 };
    expect(nextSendAt([now - 100], { perMin: 60, perHour: 1000 }, ramp, now, 0, now)).toBe(now - 100 + 4_000);
    expect(nextSendAt([now - 100], { perMin: 60, perHour: 1000 }, ramp, now, 0, now - 60_000)).toBe(now);
  });

  it("schedule: the expected times of the queue at the session's rates", () => {
    const times = schedule([], { perMin: 2, perHour: 100 }, s, 0, 5);
    expect(times).toEqual([0, 0, 60_000 + windowMarginMs, 60_000 + windowMarginMs, 2 * (60_000 + windowMarginMs)]);
  });

  it("typing grows with the text, bounded; reactions do not type", () => {
    const t = { typingMinMs: 800, typingMsPerChar: 40, typingMaxMs: 6_000 };
    expect(typingMs({ type: "text", content: { text: { body: "hello" } } }, t)).toBe(1_000);
    expect(typingMs({ type: "text", content: { text: { body: "x".repeat(1_000) } } }, t)).toBe(6_000);
    expect(typingMs({ type: "image", content: { image: { caption: "ab" } } }, t)).toBe(880);
  });

  it("a restriction's end time is read from the ack when it carries one", () => {
    const now = 1_800_000_000_000;
    expect(endTimeOf(["463", String(now / 1000 + 3600)], now)).toBe(now + 3_600_000);
    expect(endTimeOf(["463", "reachout timelocked"], now)).toBeUndefined();
    expect(endTimeOf(["463"], now)).toBeUndefined();
  });

  it("settings: defaults, the older MESSAGE_EXPIRY_MS name, and bad bounds refused with the variable named", () => {
    const c = loadConfig({});
    expect(c.sending).toMatchObject({ minuteMs: 60_000, hourMs: 3_600_000, jitterMinMs: 1_000, jitterMaxMs: 3_000, rampMs: 300_000 });
    expect(c.messages.expiryMs).toBe(4 * 3_600_000);
    expect(c.messages.idempotencyTtlMs).toBe(24 * 3_600_000);
    expect(loadConfig({ MESSAGE_EXPIRY_MS: "60000" }).messages.expiryMs).toBe(60_000);
    expect(loadConfig({ MESSAGE_TTL_MS: "120000", MESSAGE_EXPIRY_MS: "60000" }).messages.expiryMs).toBe(120_000);
    expect(() => loadConfig({ SEND_JITTER_MIN_MS: "5000", SEND_JITTER_MAX_MS: "10" })).toThrow(/SEND_JITTER_MAX_MS/);
    expect(() => loadConfig({ TYPING_MAX_MS: "-1" })).toThrow(/TYPING_MAX_MS/);
  });
});
